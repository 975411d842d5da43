"""A fake Stripe API on 127.0.0.1 for the real `stripe` SDK: no mocks of our code, no network.

It speaks the SDK's wire format (form-encoded nested params in, JSON objects out, `Idempotency-Key`
honoured), keeps checkout sessions (and the charge a paid one makes), accounts, account links, transfers,
refunds (which grow the charge's `amount_refunded`) and events, signs webhooks the way Stripe does
(`Stripe-Signature: t=..,v1=HMAC-SHA256(secret, "t.payload")`) and serves a minimal hosted Checkout page
and Connect onboarding page for browser tests.
"""
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def parse_form(body: str) -> dict:
    """`a[b][0][c]=1` -> {"a": {"b": [{"c": "1"}]}}, as Stripe's form encoding nests params."""
    result: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = None if last else parts[i + 1]
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if not nxt or not nxt.isdigit() else [])
                if last:
                    node[index] = value
                else:
                    if not isinstance(node[index], dict | list) or (nxt.isdigit() and isinstance(node[index], dict)
                                                                   and not node[index]):
                        node[index] = [] if nxt.isdigit() else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    if part not in node:
                        node[part] = [] if nxt.isdigit() else {}
                    node = node[part]
    return result


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


# The parameters Stripe documents for the endpoints we call (a subset of each, enough for our calls and the
# obvious alternatives). Like the real API, anything else is refused with `parameter_unknown`, so a typo in a
# parameter name (`sucess_url`, `unit_amont`) fails a test instead of being silently ignored.
ANY = "any"  # free-form keys (metadata and similar hashes)
_PRODUCT_DATA = {"name": True, "description": True, "images": True, "metadata": ANY, "tax_code": True}
_PRICE_DATA = {"currency": True, "unit_amount": True, "unit_amount_decimal": True, "product": True,
               "product_data": _PRODUCT_DATA, "recurring": ANY, "tax_behavior": True}
_LINE_ITEM = {"quantity": True, "price": True, "price_data": _PRICE_DATA, "adjustable_quantity": ANY,
              "tax_rates": True, "dynamic_tax_rates": True}
KNOWN_PARAMS: dict[tuple[str, str], dict] = {
    ("POST", "checkout/sessions"): {
        "mode": True, "client_reference_id": True, "customer": True, "customer_email": True,
        "line_items": [_LINE_ITEM], "metadata": ANY, "success_url": True, "cancel_url": True, "return_url": True,
        "payment_method_types": True, "expires_at": True, "locale": True, "payment_intent_data": ANY,
        "allow_promotion_codes": True, "submit_type": True, "billing_address_collection": True, "ui_mode": True,
        "automatic_tax": ANY, "currency": True, "customer_creation": True, "expand": True,
    },
    ("POST", "checkout/sessions/*/expire"): {"expand": True},
    ("POST", "accounts"): {
        "type": True, "email": True, "country": True, "metadata": ANY, "business_type": True,
        "business_profile": ANY, "capabilities": ANY, "controller": ANY, "settings": ANY, "expand": True,
    },
    ("POST", "account_links"): {"account": True, "type": True, "return_url": True, "refresh_url": True,
                                "collect": True, "collection_options": ANY, "expand": True},
    ("POST", "transfers"): {"amount": True, "currency": True, "destination": True, "transfer_group": True,
                            "metadata": ANY, "description": True, "source_transaction": True, "source_type": True,
                            "expand": True},
    ("POST", "refunds"): {"charge": True, "payment_intent": True, "amount": True, "metadata": ANY, "reason": True,
                          "refund_application_fee": True, "reverse_transfer": True, "instructions_email": True,
                          "expand": True},
}


def unknown_param(params: dict, spec, prefix: str = "") -> str | None:
    """The first parameter (Stripe's bracket notation) that `spec` does not allow, or None."""
    if spec is ANY or spec is True:
        return None
    if isinstance(spec, list):
        items = params if isinstance(params, list) else []
        for index, item in enumerate(items):
            found = unknown_param(item, spec[0], f"{prefix}[{index}]")
            if found:
                return found
        return None
    if not isinstance(params, dict):
        return None
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key not in spec:
            return name
        found = unknown_param(value, spec[key], name)
        if found:
            return found
    return None


def _route(method: str, path: str) -> tuple[str, str]:
    parts = path.split("/")[2:]
    if parts[:2] == ["checkout", "sessions"] and len(parts) == 4:
        parts[2] = "*"
    if method == "GET":
        return method, "*"
    return method, "/".join(parts)


class FakeStripe:
    """Start with `FakeStripe(webhook_secret=...).start()`; `base_url` goes into STRIPE_API_BASE."""

    def __init__(self, *, webhook_secret: str = "whsec_test_secret", webhook_url: str | None = None):
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.lock = threading.RLock()
        self.objects: dict[str, dict] = {}
        self.idempotent: dict[tuple[str, str], dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.events: list[dict] = []
        self.deliveries: list[tuple[str, int]] = []
        self.server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "FakeStripe":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

            def do_DELETE(self):
                fake._handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- test helpers ------------------------------------------------------------------------------
    def sign(self, payload: str, timestamp: int | None = None) -> str:
        return sign_payload(payload, self.webhook_secret, timestamp)

    def make_event(self, type_: str, obj: dict) -> dict:
        event = {"id": _new_id("evt"), "object": "event", "type": type_, "created": int(time.time()),
                 "livemode": False, "api_version": "2025-01-27.acacia", "pending_webhooks": 1,
                 "data": {"object": json.loads(json.dumps(obj))}}
        with self.lock:
            self.objects[event["id"]] = event
            self.events.append(event)
        return event

    def event_payload(self, event: dict) -> tuple[str, str]:
        payload = json.dumps(event)
        return payload, self.sign(payload)

    def deliver(self, event: dict, url: str | None = None) -> int:
        """POST a signed event to the webhook URL, as Stripe does."""
        payload, signature = self.event_payload(event)
        request = urllib.request.Request(url or self.webhook_url, data=payload.encode(), method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json", "Stripe-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own http URL
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        self.deliveries.append((event["id"], status))
        return status

    def complete_session(self, session_id: str, *, deliver: bool = True) -> dict:
        """The customer paid: the session completes and `checkout.session.completed` is sent."""
        with self.lock:
            session = self.objects[session_id]
            if session["status"] != "complete":
                session.update(status="complete", payment_status="paid", payment_intent=_new_id("pi"))
                charge = {"id": _new_id("ch"), "object": "charge", "amount": session["amount_total"],
                          "amount_refunded": 0, "refunded": False, "currency": session["currency"],
                          "payment_intent": session["payment_intent"], "status": "succeeded",
                          "paid": True, "created": int(time.time()), "livemode": False}
                self.objects[charge["id"]] = charge
            event = self.make_event("checkout.session.completed", session)
        if deliver and self.webhook_url:
            self.deliver(event)
        return event

    def enable_payouts(self, account_id: str, *, deliver: bool = True) -> dict:
        with self.lock:
            account = self.objects[account_id]
            account.update(details_submitted=True, charges_enabled=True, payouts_enabled=True)
            event = self.make_event("account.updated", account)
        if deliver and self.webhook_url:
            self.deliver(event)
        return event

    def charge_for(self, payment_intent: str) -> dict:
        with self.lock:
            return next(o for o in self.of_type("charge") if o["payment_intent"] == payment_intent)

    def _refund_create(self, *, charge: dict, amount: int | None, metadata: dict | None = None) -> tuple[int, dict]:
        """Refund (part of) a charge: the charge's running `amount_refunded` grows, as on Stripe."""
        with self.lock:
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = remaining if amount is None else int(amount)
            if amount <= 0 or amount > remaining:
                return 400, {"error": {"type": "invalid_request_error", "code": "charge_already_refunded"
                                       if remaining <= 0 else "amount_too_large", "param": "amount",
                                       "message": f"Refund amount ({amount}) is greater than unrefunded "
                                                  f"amount on charge ({remaining})"}}
            refund = {"id": _new_id("re"), "object": "refund", "amount": amount, "charge": charge["id"],
                      "currency": charge["currency"], "payment_intent": charge["payment_intent"],
                      "status": "succeeded", "metadata": metadata or {}, "created": int(time.time())}
            self.objects[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return 200, refund

    def refund_charge(self, payment_intent: str, amount: int | None = None, *,
                      deliver: bool = True) -> tuple[dict, list[dict]]:
        """A refund made in the Stripe dashboard: `refund.created` and `charge.refunded` are sent."""
        charge = self.charge_for(payment_intent)
        status, refund = self._refund_create(charge=charge, amount=amount)
        if status != 200:
            raise ValueError(refund["error"]["message"])
        with self.lock:
            events = [self.make_event("refund.created", refund), self.make_event("charge.refunded", charge)]
        if deliver and self.webhook_url:
            for event in events:
                self.deliver(event)
        return refund, events

    def of_type(self, obj: str) -> list[dict]:
        with self.lock:
            return [o for o in self.objects.values() if o.get("object") == obj]

    # --- HTTP --------------------------------------------------------------------------------------
    def _send(self, handler, status: int, body, content_type: str = "application/json", headers=None) -> None:
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", _new_id("req"))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, handler, status: int, message: str, code: str = "resource_missing") -> None:
        self._send(handler, status, {"error": {"type": "invalid_request_error", "message": message, "code": code}})

    def _handle(self, handler, method: str) -> None:
        url = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        params = parse_form(raw if method == "POST" else url.query)
        path = url.path.rstrip("/")
        with self.lock:
            self.requests.append((method, path, params))
        if path.startswith("/v1/"):
            if not (handler.headers.get("Authorization") or "").startswith("Bearer sk_"):
                return self._send(handler, 401, {"error": {"type": "invalid_request_error",
                                                           "message": "Invalid API Key provided"}})
            key = handler.headers.get("Idempotency-Key")
            if method == "POST" and key:
                with self.lock:
                    cached = self.idempotent.get((path, key))
                if cached is not None:
                    return self._send(handler, 200, cached, headers={"Idempotent-Replayed": "true"})
            status, body = self._api(method, path, params)
            if method == "POST" and key and status == 200:
                with self.lock:
                    self.idempotent[(path, key)] = body
            return self._send(handler, status, body)
        return self._pages(handler, method, path, params)

    def _get(self, obj_id: str, kind: str):
        with self.lock:
            obj = self.objects.get(obj_id)
        if obj is None or obj.get("object") != kind:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": f"No such {kind}: '{obj_id}'"}}
        return 200, obj

    def _api(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        spec = KNOWN_PARAMS.get(_route(method, path), {"expand": True})
        unknown = unknown_param(params, spec)
        if unknown:
            return 400, {"error": {"type": "invalid_request_error", "code": "parameter_unknown", "param": unknown,
                                   "message": f"Received unknown parameter: {unknown}"}}
        parts = path.split("/")[2:]
        now = int(time.time())
        if parts[:2] == ["checkout", "sessions"]:
            if method == "POST" and len(parts) == 2:
                items = params.get("line_items") or []
                total = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items)
                currency = items[0]["price_data"]["currency"] if items else "usd"
                session_id = _new_id("cs_test")
                session = {"id": session_id, "object": "checkout.session", "mode": params.get("mode", "payment"),
                           "status": "open", "payment_status": "unpaid", "amount_total": total,
                           "currency": currency, "metadata": params.get("metadata", {}),
                           "client_reference_id": params.get("client_reference_id"),
                           "customer_email": params.get("customer_email"), "payment_intent": None,
                           "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
                           "url": f"{self.base_url}/pay/{session_id}", "created": now,
                           "expires_at": now + 86400, "livemode": False,
                           "line_items_data": items}
                with self.lock:
                    self.objects[session_id] = session
                return 200, session
            if method == "GET" and len(parts) == 3:
                return self._get(parts[2], "checkout.session")
            if method == "POST" and len(parts) == 4 and parts[3] == "expire":
                status, session = self._get(parts[2], "checkout.session")
                if status == 200 and session["status"] == "open":
                    session["status"] = "expired"
                return status, session
        if parts[:1] == ["accounts"]:
            if method == "POST" and len(parts) == 1:
                account = {"id": _new_id("acct"), "object": "account", "type": params.get("type", "express"),
                           "email": params.get("email"), "metadata": params.get("metadata", {}),
                           "charges_enabled": False, "payouts_enabled": False, "details_submitted": False,
                           "created": now}
                with self.lock:
                    self.objects[account["id"]] = account
                return 200, account
            if method == "GET" and len(parts) == 2:
                return self._get(parts[1], "account")
        if parts == ["account_links"] and method == "POST":
            status, _account = self._get(params.get("account", ""), "account")
            if status != 200:
                return status, _account
            link = {"object": "account_link", "created": now, "expires_at": now + 300,
                    "url": f"{self.base_url}/connect/{params['account']}?return_url="
                           f"{urllib.parse.quote(params.get('return_url', ''))}"}
            return 200, link
        if parts == ["transfers"] and method == "POST":
            status, account = self._get(params.get("destination", ""), "account")
            if status != 200:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such destination",
                                       "param": "destination"}}
            if not account["payouts_enabled"]:
                return 400, {"error": {"type": "invalid_request_error", "code": "account_invalid",
                                       "message": "The destination account cannot receive transfers."}}
            transfer = {"id": _new_id("tr"), "object": "transfer", "amount": int(params["amount"]),
                        "currency": params["currency"], "destination": params["destination"],
                        "transfer_group": params.get("transfer_group"), "metadata": params.get("metadata", {}),
                        "created": now}
            with self.lock:
                self.objects[transfer["id"]] = transfer
            return 200, transfer
        if parts == ["refunds"] and method == "POST":
            with self.lock:
                charge = self.objects.get(params.get("charge", "")) or next(
                    (o for o in self.of_type("charge") if o["payment_intent"] == params.get("payment_intent")), None)
            if charge is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                       "message": "No such charge or payment_intent"}}
            return self._refund_create(charge=charge, amount=params.get("amount"), metadata=params.get("metadata"))
        if parts[:1] == ["refunds"] and method == "GET" and len(parts) == 2:
            return self._get(parts[1], "refund")
        if parts[:1] == ["charges"] and method == "GET" and len(parts) == 2:
            return self._get(parts[1], "charge")
        if parts[:1] == ["events"] and method == "GET" and len(parts) == 2:
            return self._get(parts[1], "event")
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})"}}

    def _pages(self, handler, method: str, path: str, params: dict) -> None:
        """The hosted pages a browser sees: Checkout and Connect onboarding."""
        match = re.fullmatch(r"/pay/(cs_test_\w+)", path)
        if match:
            session_id = match.group(1)
            status, session = self._get(session_id, "checkout.session")
            if status != 200:
                return self._send(handler, 404, "Not found", "text/plain")
            if method == "POST":
                self.complete_session(session_id)
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
                handler.send_response(303)
                handler.send_header("Location", target)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return None
            amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
            name = html.escape(session["line_items_data"][0]["price_data"]["product_data"]["name"]) \
                if session["line_items_data"] else "Payment"
            page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Fake Stripe Checkout</title>
<style>body{{font-family:system-ui,sans-serif;background:#f6f9fc;display:grid;place-items:center;height:100vh;margin:0}}
.box{{background:#fff;padding:32px 40px;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.08);width:360px}}
button{{width:100%;height:44px;background:#635bff;color:#fff;border:0;border-radius:8px;font-size:16px}}
.amount{{font-size:32px;font-weight:700;margin:8px 0 24px}} .card{{border:1px solid #ddd;border-radius:6px;
padding:10px;margin-bottom:18px;color:#555}}</style></head><body><form class="box" method="post">
<div>{name}</div><div class="amount" id="amount">{amount}</div><div class="card">4242 4242 4242 4242 · 12/34 · 123</div>
<button id="pay" type="submit">Pay {amount}</button><p style="color:#888;font-size:12px">Test mode: fake Stripe</p>
</form></body></html>"""
            return self._send(handler, 200, page, "text/html; charset=utf-8")
        match = re.fullmatch(r"/connect/(acct_\w+)", path)
        if match:
            account_id = match.group(1)
            if method == "POST":
                self.enable_payouts(account_id)
                handler.send_response(303)
                handler.send_header("Location", params.get("return_url", "/"))
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return None
            page = (f'<!doctype html><title>Fake Connect onboarding</title><form method="post">'
                    f'<input type="hidden" name="return_url" value="{html.escape(params.get("return_url", ""))}">'
                    f'<button id="finish" type="submit">Finish onboarding</button></form>')
            return self._send(handler, 200, page, "text/html; charset=utf-8")
        return self._send(handler, 404, "Not found", "text/plain")
