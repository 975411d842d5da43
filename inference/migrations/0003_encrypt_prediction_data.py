"""Encrypt the inputs and outputs already stored (0002 turned the jsonb columns into text holding the JSON).

Raw SQL in batches by primary key, so the model field (which expects ciphertext) is not involved and a large table
is not rewritten in one statement. Reversible: decrypts back to JSON text before 0002 turns the columns into jsonb.
"""
from django.db import migrations

BATCH = 1000


def _rewrite(schema_editor, convert) -> None:
    connection = schema_editor.connection
    table = connection.ops.quote_name("inference_prediction")
    last = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(f"SELECT id, input, output FROM {table} ORDER BY id LIMIT %s", [BATCH])  # noqa: S608
            else:
                cursor.execute(f"SELECT id, input, output FROM {table} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                               [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                return
            updates = []
            for pk, raw_input, raw_output in rows:
                new_input, new_output = convert(raw_input), convert(raw_output)
                if (new_input, new_output) != (raw_input, raw_output):
                    updates.append((new_input, new_output, pk))
            if updates:
                cursor.executemany(f"UPDATE {table} SET input = %s, output = %s WHERE id = %s", updates)  # noqa: S608
            last = rows[-1][0]


def encrypt(apps, schema_editor) -> None:
    from config.crypto import is_token, multi_fernet

    fernet = multi_fernet()

    def convert(value):
        if value is None or is_token(value):
            return value
        if value.strip() == "null":
            return None
        return fernet.encrypt(value.encode()).decode()

    _rewrite(schema_editor, convert)


def decrypt(apps, schema_editor) -> None:
    from config.crypto import is_token, multi_fernet

    fernet = multi_fernet()

    def convert(value):
        if value is None or not is_token(value):
            return value
        return fernet.decrypt(value.encode()).decode()

    _rewrite(schema_editor, convert)


class Migration(migrations.Migration):
    dependencies = [("inference", "0002_prediction_encrypted_store_data_removed")]

    operations = [migrations.RunPython(encrypt, decrypt, elidable=False)]
