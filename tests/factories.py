"""factory_boy factories shared by every test module."""

import hashlib
import uuid

import factory
from django.contrib.auth import get_user_model
from django.db.models import F

from annotation.models import (
    Annotation,
    Assignment,
    Category,
    Item,
    Membership,
    Project,
    Role,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-123456")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    guidelines = "Label what the text **is**, not what it links to."
    multi_label = True
    overlap = 2


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    hotkey = factory.Sequence(lambda n: "123456789abcdefhijklmnopqtvwxy"[n % 30])
    order = factory.Sequence(lambda n: n)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    role = Role.ANNOTATOR


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"item-{n}")
    text = factory.Sequence(lambda n: f"Some text to label, number {n}.")
    content_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.text.encode()).hexdigest())
    priority = factory.Sequence(lambda n: 1.0 / (n + 1))
    open_slots = factory.LazyAttribute(lambda o: o.project.overlap)


def member(project, role=Role.ANNOTATOR, username=None):
    user = UserFactory(username=username) if username else UserFactory()
    MembershipFactory(user=user, project=project, role=role)
    return user


def items(project, n):
    return [ItemFactory(project=project) for _ in range(n)]


def annotate(item, user, categories=(), *, none=False, unsure=False, when=None):
    """Store an annotation directly, bypassing the queue (the submit service has its own
    tests); for tests of what is computed from annotations."""
    annotation = Annotation.objects.create(
        item=item,
        annotator=user,
        none_of_these=none,
        unsure=unsure,
        idempotency_key=uuid.uuid4().hex,
    )
    annotation.categories.set(categories)
    Item.objects.filter(pk=item.pk).update(annotation_count=F("annotation_count") + 1)
    if when is not None:
        Annotation.objects.filter(pk=annotation.pk).update(created_at=when)
    return annotation


def submit(item, user, categories=(), *, none=False, unsure=False, comment="", time_spent_ms=0):
    """Lease `item` to `user` and submit through the real service (consolidation included):
    for tests that need one particular item labeled, which the queue's order would not pick."""
    from datetime import timedelta

    from django.utils import timezone

    from annotation.services.annotations import annotation_submit
    from annotation.services.queue import item_open_slots_recount

    item.refresh_from_db()
    Assignment.objects.create(
        project=item.project,
        item=item,
        annotator=user,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    item_open_slots_recount(project=item.project, item_ids=[item.pk])
    return annotation_submit(
        project=Project.objects.get(pk=item.project_id),
        annotator=user,
        item_id=item.pk,
        category_ids=[c if isinstance(c, int) else c.pk for c in categories],
        none_of_these=none,
        unsure=unsure,
        comment=comment,
        time_spent_ms=time_spent_ms,
        idempotency_key=uuid.uuid4().hex,
    ).annotation


def gold_label(item, categories=(), *, none=False, source="consensus", when=None):
    """Store a current gold label directly (the consolidation service has its own tests) and
    mark the item gold: for tests of what is computed from gold labels (the learning app)."""
    from annotation.models import GoldLabel

    label = GoldLabel.objects.create(
        project_id=item.project_id, item=item, none_of_these=none, source=source
    )
    label.categories.set(categories)
    Item.objects.filter(pk=item.pk).update(label_state=Item.LabelState.GOLD)
    if when is not None:
        GoldLabel.objects.filter(pk=label.pk).update(created_at=when)
    return label


def open_case(item, reason="disagreement", *, when=None):
    """Store an open adjudication case directly (the adjudication services have their own
    tests): for tests of what is read from the backlog (the dashboard)."""
    from annotation.models import AdjudicationCase

    case = AdjudicationCase.objects.create(project_id=item.project_id, item=item, reason=reason)
    if when is not None:
        AdjudicationCase.objects.filter(pk=case.pk).update(created_at=when)
    return case


def disagreement(item, *, first=None, second=None):
    """Two new annotators label `item` differently (by default its project's first two
    categories) through the real submit: the adjudication case consolidation opens."""
    from annotation.models import AdjudicationCase

    categories = list(Category.objects.filter(project_id=item.project_id).order_by("order", "id"))
    project = Project.objects.get(pk=item.project_id)
    submit(item, member(project), first if first is not None else [categories[0]])
    submit(item, member(project), second if second is not None else [categories[1]])
    return AdjudicationCase.objects.get(item=item, status="open")


def labeled_item(
    project,
    votes,
    gold=(),
    *,
    none=False,
    source="consensus",
    decided_by=None,
    rationale="",
    gold_when=None,
    **fields,
):
    """An item with the given annotations and a current gold label, stored directly (datacards:
    what a freeze copies). `votes`: [(user, [categories]) or (user, [categories], {flags})],
    flags none/unsure/when; `gold_when`: the gold label's time; `fields`: Item fields
    (external_id, text, selection_reason, …)."""
    from annotation.models import GoldLabel

    item = ItemFactory(project=project, **fields)
    for vote in votes:
        user, categories, flags = (*vote, {})[:3]
        annotate(item, user, categories, **flags)
    label = gold_label(item, gold, none=none, source=source, when=gold_when)
    if decided_by is not None or rationale:
        GoldLabel.objects.filter(pk=label.pk).update(decided_by=decided_by, rationale=rationale)
    return item


def frozen_version(project, user, *, publish=False):
    """Freeze `project` through the real services (the task runs eagerly on commit) and return
    the version, published if asked."""
    from django.db import transaction

    from datacards.models import DatasetVersion
    from datacards.services.freeze import version_freeze_run
    from datacards.services.versions import version_freeze_start, version_publish

    with transaction.atomic():
        version = version_freeze_start(project=project, user=user)
    # Tests run inside a transaction, where on_commit never fires: run the task's service.
    version_freeze_run(version_id=version.pk)
    version = DatasetVersion.objects.get(pk=version.pk)
    if publish:
        version = version_publish(version=version, user=user)
    return version


def noisy_gold(project, *, per_class=12, flips=5, seed=0, annotators=(), careless=()):
    """Gold labels a model can learn, with `flips` of them wrong: for the label-noise tests.
    Each item's text carries words only its categories use ("c<j>w<k>") among neutral filler.

    Single-label projects: `per_class` items per active category and `per_class` "none of
    these"; flip f gives an item of category f % C the next category's label. Multi-label
    projects: 6 · per_class items with random category sets; flip f is an item about category
    f % C alone whose gold label misses it ("none of these": a missed positive). A wrong item's
    text states its category more clearly than the others (all four words, twice): confident
    learning flags an item only where its out-of-fold probability for the right class beats
    that class's average, which on a few dozen synthetic items is a coin toss for an average
    text, and these tests are about what happens to a flag, not about recall (bench/).
    `annotators` each label every item with what its text says, `careless` users at random.

    Returns {"items": [Item], "truth": [[Category]], "gold": [GoldLabel], "flipped": [Item]}.
    """
    import random

    from annotation.models import Project

    rng = random.Random(seed)
    project = Project.objects.get(pk=project.pk)
    categories = list(Category.objects.filter(project=project, active=True).order_by("order", "id"))
    C = len(categories)
    if project.multi_label:
        truth = [[c for c in categories if rng.random() < 0.35] for _ in range(6 * per_class)]
    else:
        truth = [[c] for c in categories for _ in range(per_class)] + [[]] * per_class
    given_of = {}
    for f in range(flips):
        j = f % C
        if project.multi_label:
            truth[f] = [categories[j]]
            given_of[f] = []
        else:
            given_of[j * per_class + f // C] = [categories[(j + 1) % C]]
    filler = [f"filler{k}" for k in range(20)]
    out = {"items": [], "truth": truth, "gold": [], "flipped": []}
    for r, names in enumerate(truth):
        wrong = r in given_of
        words = rng.sample(filler, 2 if wrong else 5)
        for c in names:
            j = categories.index(c)
            chosen = list(range(4)) * 2 if wrong else rng.sample(range(4), 3)
            words += [f"c{j}w{k}" for k in chosen]
        rng.shuffle(words)
        item = ItemFactory(project=project, text=" ".join(words), annotation_count=0)
        for user in annotators:
            annotate(item, user, names, none=not names)
        for user in careless:
            if project.multi_label:
                guess = [c for c in categories if rng.random() < 0.5]
            else:
                pick = rng.randrange(C + 1)
                guess = [categories[pick]] if pick < C else []
            annotate(item, user, guess, none=not guess)
        given = given_of.get(r, names)
        out["gold"].append(gold_label(item, given, none=not given))
        out["items"].append(item)
        if wrong:
            out["flipped"].append(item)
    return out
