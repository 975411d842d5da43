"""The interface speaks Simplified Chinese: the catalogue is compiled (locale/zh_Hans/LC_MESSAGES/django.mo is
kept in git so a fresh clone needs no gettext tools; `make run` recompiles it) and pages render in Chinese."""
import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import AppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def zh_client(client_for, user):
    client = client_for(user)
    client.cookies["django_language"] = "zh-hans"
    return client


def test_home_renders_in_chinese(zh_client):
    AppFactory(name="Finance Sentiment")
    html = zh_client.get(reverse("marketplace:home")).content.decode()
    assert '<html lang="zh-hans">' in html
    for text in ("AI 模型应用，运行前先报价", "搜索应用", "浏览", "应用库", "按分类浏览", "热门", "游戏"):
        assert text in html, text


def test_app_page_console_and_settings_render_in_chinese(zh_client, user):
    app = AppFactory(name="Finance Sentiment")
    assert "获取" in zh_client.get(app.get_absolute_url()).content.decode()
    assert "个人资料" in zh_client.get(reverse("accounts:settings")).content.decode()
    assert "开发者条款" in zh_client.get(reverse("accounts:become_developer")).content.decode()
    user.is_developer = True
    user.save()
    assert "开发者控制台" in zh_client.get(reverse("marketplace:console")).content.decode()


def test_language_switch_sets_chinese(client_for):
    client = client_for()
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert "搜索应用" in client.get("/").content.decode()


def test_service_errors_are_translated():
    with translation.override("zh-hans"):
        assert translation.gettext("You must accept the developer terms.") == "你必须接受开发者条款。"
