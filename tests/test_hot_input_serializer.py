"""config.api.HotInputSerializer: each instance gets fields of its own without re-running their __init__."""
import threading

from rest_framework import serializers

from config.api import HotInputSerializer
from inference.serializers import PredictionCreateInputSerializer


def test_each_instance_binds_fields_of_its_own_and_list_children_to_their_own_list():
    first, second = PredictionCreateInputSerializer(data={}), PredictionCreateInputSerializer(data={})
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name] is not PredictionCreateInputSerializer._declared_fields[name]
    events = first.fields["webhook_events_filter"]
    assert events.child is not second.fields["webhook_events_filter"].child
    assert events.child.parent is events
    # Flat fields share what __init__ built (the URL validator is not made again per request).
    assert first.fields["webhook"].validators is PredictionCreateInputSerializer._declared_fields["webhook"].validators


def test_the_create_body_validates_and_fails_as_before():
    good = PredictionCreateInputSerializer(data={
        "input": {"text": "hi"}, "webhook": "https://example.com/hook", "webhook_events_filter": ["completed"],
        "max_price": "0.5"})
    assert good.is_valid(), good.errors
    assert good.validated_data["webhook"] == "https://example.com/hook"
    assert str(good.validated_data["max_price"]) == "0.500000"
    assert good.validated_data["store"] is True and good.validated_data["version"] == ""

    bad = PredictionCreateInputSerializer(data={
        "input": {"text": "hi"}, "webhook": "not a url", "webhook_events_filter": ["bogus"], "max_price": "-1"})
    assert not bad.is_valid()
    assert bad.errors["webhook"][0].code == "invalid"
    assert bad.errors["max_price"][0].code == "min_value"
    assert bad.errors["webhook_events_filter"][0][0].code == "invalid_choice"
    assert PredictionCreateInputSerializer(data={"webhook": ""}).is_valid() is False  # input is required


def test_nested_serializers_are_deep_copied_and_concurrent_instances_do_not_mix():
    class Inner(serializers.Serializer):
        name = serializers.CharField(max_length=3)

    class Outer(HotInputSerializer):
        inner = Inner()
        tag = serializers.CharField(max_length=5)

    a, b = Outer(data={}), Outer(data={})
    assert a.fields["inner"] is not b.fields["inner"] and a.fields["inner"].parent is a

    results: dict[int, object] = {}

    def validate(index: int) -> None:
        tag = "ok" if index % 2 else "toolong"
        serializer = Outer(data={"inner": {"name": "abc"}, "tag": tag})
        results[index] = serializer.validated_data["tag"] if serializer.is_valid() else serializer.errors["tag"][0].code

    threads = [threading.Thread(target=validate, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: "ok" if i % 2 else "max_length" for i in range(40)}
