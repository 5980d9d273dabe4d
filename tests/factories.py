"""factory_boy factories shared by every test module."""

import hashlib
import uuid

import factory
from django.contrib.auth import get_user_model
from django.db.models import F

from annotation.models import Annotation, Category, Item, Membership, Project, Role


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
