"""The aggregate rating stays exact when many people review at the same moment (real threads, real commits)."""
import threading

import pytest
from django.db import close_old_connections, connection

from marketplace.models import App
from marketplace.services import review_create
from tests.factories import AppFactory, LibraryEntryFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("real_races")
def test_concurrent_reviews_keep_the_rating_exact():
    app = AppFactory()
    ratings = [5, 4, 3, 2, 1, 5, 4, 5]
    users = [LibraryEntryFactory(app=app).user for _ in ratings]
    barrier = threading.Barrier(len(ratings))
    errors: list[BaseException] = []

    def review(user, stars):
        try:
            barrier.wait(timeout=30)
            review_create(user=user, app=App.objects.get(pk=app.pk), rating=stars)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=review, args=(u, r)) for u, r in zip(users, ratings, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    app.refresh_from_db()
    assert (app.reviews_count, app.rating_sum) == (len(ratings), sum(ratings))
    assert str(app.rating) == f"{sum(ratings) / len(ratings):.2f}"
