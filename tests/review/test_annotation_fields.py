"""One home for an annotation form's fields (#23): the annotations page and a queue item's
review page draw them from the same partial, so a refusal is said beside its field on both;
a queue and an annotation refuse an archived score config in the same words."""

import pytest
from django.urls import reverse

from memory_app.errors import InvalidInput
from memory_app.review.forms import TEXT_LIMIT
from memory_app.review.models import Annotation, ScoreConfig
from tests.helpers import body

pytestmark = pytest.mark.django_db
FIELDS = "memory_app/review/_annotation_fields.html"


def item_url(queue) -> str:
    return reverse("memory_app:review_queue_item", args=[queue.pk, queue.items.get().pk])


def templates_used(response) -> set[str]:
    return {t.name for t in response.templates}


def test_both_annotation_forms_draw_their_fields_from_one_partial(
    reviewer_client, turn_review_queue
):
    item = turn_review_queue.items.get()
    annotations = reviewer_client.get(reverse("memory_app:turn_annotations", args=[item.target_id]))
    review = reviewer_client.get(item_url(turn_review_queue))
    assert FIELDS in templates_used(annotations)
    assert FIELDS in templates_used(review)
    page = body(review)
    assert "<legend>helpful</legend>" in page
    assert 'name="correction"' in page


@pytest.mark.parametrize("field", ["comment", "correction"])
def test_a_queue_review_says_a_text_refusal_beside_its_field(
    reviewer_client, turn_review_queue, field
):
    post = {"score_0": "yes", "score_1": "true", field: "x" * (TEXT_LIMIT + 1)}
    response = reviewer_client.post(item_url(turn_review_queue), post)
    assert response.status_code == 422
    assert f"at most {TEXT_LIMIT:,}".replace(",", "") in body(response).replace(",", "")
    assert not Annotation.objects.exists()


def test_a_queue_and_an_annotation_refuse_an_archived_config_in_the_same_words(
    store, turn_review_queue
):
    ScoreConfig.objects.filter(name="safe").update(archived_at="2026-01-01T00:00:00.000Z")
    said = "score config 'safe' is archived: it takes no new scores"
    with pytest.raises(InvalidInput, match=said):
        store.create_review_queue("more", created_by="rhea", score_configs=["safe"])
    item = turn_review_queue.items.get()
    with pytest.raises(InvalidInput, match=said):
        store.annotate("turn", item.target_id, author="rita", scores={"safe": True})
