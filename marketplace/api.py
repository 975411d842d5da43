"""Marketplace API: categories, the store listing, the app lifecycle, the library and reviews.

Views parse input and call one service or selector. Visibility is `App.objects.visible_to` (someone
else's draft answers 404); what a caller may do with a visible app is decided by permission classes.
"""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.org_permissions import org_for
from accounts.permissions import (
    IsDeveloperForWrites,
    IsModeratorForObject,
    IsOwnerForWrites,
    ScopePermission,
)
from config.api import Pagination, error_responses
from config.errors import PaymentRequired

from .models import App
from .selectors import app_get_visible, app_list_published, app_prices, app_reviews, categories_all
from .serializers import (
    AcquireOutputSerializer,
    AppCreateInputSerializer,
    AppListQuerySerializer,
    AppOutputSerializer,
    AppUpdateInputSerializer,
    CategoryOutputSerializer,
    ModerationInputSerializer,
    ReviewInputSerializer,
    ReviewOutputSerializer,
)
from .services import app_acquire, app_acquire_blocker, app_create, app_review, app_submit, app_update, review_create

# Consumer actions (getting and reviewing an app) are allowed to keys made for running apps too.
CONSUMER_SCOPES = ("predict", "publish")


class AppObjectMixin:
    """Looks the app up among those the caller may see, then checks the view's object permissions."""

    def get_app(self, request: Request, slug: str) -> App:
        try:
            app = app_get_visible(user=request.user, slug=slug)
        except App.DoesNotExist:
            raise NotFound(_("No such app.")) from None
        self.check_object_permissions(request, app)
        return app

    def app_response(self, request: Request, app: App, status_code: int = status.HTTP_200_OK) -> Response:
        # Read it back through the selector so the answer has the same columns as the listing.
        app = app_get_visible(user=request.user, slug=app.slug)
        return Response(AppOutputSerializer(app, context={"request": request}).data, status=status_code)


class CategoryListApi(APIView):
    permission_classes = [AllowAny, ScopePermission]

    @extend_schema(operation_id="categories_list", tags=["marketplace"], summary="Store categories",
                   responses={200: CategoryOutputSerializer(many=True), **error_responses()})
    def get(self, request: Request) -> Response:
        return Response(CategoryOutputSerializer(categories_all(), many=True).data)


class AppListCreateApi(AppObjectMixin, APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, ScopePermission, IsDeveloperForWrites]

    @extend_schema(
        operation_id="apps_list", tags=["marketplace"], summary="Published apps",
        parameters=[
            AppListQuerySerializer,
            OpenApiParameter("page", int), OpenApiParameter("page_size", int, description="At most 100."),
        ],
        responses={200: AppOutputSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = AppListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = Pagination()
        page = paginator.paginate_queryset(app_list_published(**query.validated_data), request, view=self)
        context = {"request": request, "prices": app_prices(apps=page)}
        return paginator.get_paginated_response(AppOutputSerializer(page, many=True, context=context).data)

    @extend_schema(operation_id="apps_create", tags=["marketplace"], summary="Create a draft app (developers)",
                   request=AppCreateInputSerializer,
                   responses={201: AppOutputSerializer, **error_responses(400, 401, 403)})
    def post(self, request: Request) -> Response:
        serializer = AppCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        slug = data.pop("org", None)
        app = app_create(owner=request.user, org=org_for(request.user, slug) if slug else None, **data)
        return self.app_response(request, app, status.HTTP_201_CREATED)


class AppDetailApi(AppObjectMixin, APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, ScopePermission, IsOwnerForWrites]

    @extend_schema(operation_id="apps_retrieve", tags=["marketplace"], summary="One app",
                   responses={200: AppOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, slug: str) -> Response:
        return Response(AppOutputSerializer(self.get_app(request, slug), context={"request": request}).data)

    @extend_schema(operation_id="apps_update", tags=["marketplace"], summary="Edit an app (owner)",
                   request=AppUpdateInputSerializer,
                   responses={200: AppOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request: Request, slug: str) -> Response:
        app = self.get_app(request, slug)
        serializer = AppUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        app = app_update(app=app, data=serializer.validated_data)
        return self.app_response(request, app)


class AppSubmitApi(AppObjectMixin, APIView):
    permission_classes = [IsAuthenticated, ScopePermission, IsOwnerForWrites]

    @extend_schema(operation_id="apps_submit", tags=["marketplace"], summary="Send a draft to review (owner)",
                   request=None, responses={200: AppOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, slug: str) -> Response:
        app = app_submit(app=self.get_app(request, slug), actor=request.user)
        return self.app_response(request, app)


class AppModerationApi(AppObjectMixin, APIView):
    permission_classes = [IsAuthenticated, ScopePermission, IsModeratorForObject]

    @extend_schema(operation_id="apps_review", tags=["marketplace"],
                   summary="Approve, reject or suspend an app (moderators)",
                   request=ModerationInputSerializer,
                   responses={200: AppOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, slug: str) -> Response:
        app = self.get_app(request, slug)
        serializer = ModerationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        app = app_review(app=app, moderator=request.user, **serializer.validated_data)
        return self.app_response(request, app)


class AppAcquireApi(AppObjectMixin, APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = CONSUMER_SCOPES

    @extend_schema(operation_id="apps_acquire", tags=["marketplace"], summary="Add the app to your library",
                   description="Paid apps answer 402 with `checkout_url` in the error until bought.",
                   request=None,
                   responses={200: AcquireOutputSerializer, **error_responses(401, 402, 403, 404, 409)})
    def post(self, request: Request, slug: str) -> Response:
        app = self.get_app(request, slug)
        blocker = app_acquire_blocker(user=request.user, app=app)
        if blocker is not None:
            raise PaymentRequired(_("Buy this app to add it to your library."), extra=blocker)
        entry = app_acquire(user=request.user, app=app)
        return Response(AcquireOutputSerializer(entry).data)


class AppReviewListCreateApi(AppObjectMixin, APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, ScopePermission]
    required_scope = CONSUMER_SCOPES

    @extend_schema(operation_id="apps_reviews_list", tags=["marketplace"], summary="An app's reviews",
                   responses={200: ReviewOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, slug: str) -> Response:
        app = self.get_app(request, slug)
        paginator = Pagination()
        page = paginator.paginate_queryset(app_reviews(app=app), request, view=self)
        return paginator.get_paginated_response(ReviewOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="apps_reviews_create", tags=["marketplace"],
                   summary="Review an app you have (once)", request=ReviewInputSerializer,
                   responses={201: ReviewOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, slug: str) -> Response:
        app = self.get_app(request, slug)
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_create(user=request.user, app=app, **serializer.validated_data)
        return Response(ReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED)
