"""project_create/update, category_create/update, membership_set/remove."""

import pytest

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import Category, Item, Membership, Project, Role
from annotation.services.projects import (
    category_create,
    category_update,
    membership_remove,
    membership_set,
    project_create,
    project_update,
)
from tests.factories import UserFactory, items, member

pytestmark = pytest.mark.django_db


# --- projects -------------------------------------------------------------------------------


def test_create_makes_creator_lead_and_assigns_hotkeys_in_order():
    creator = UserFactory()
    names = [f"Cat {i}" for i in range(11)]

    project = project_create(
        created_by=creator, name="  Web pages ", category_names=["", *names, "   "], overlap=3
    )

    assert project.name == "Web pages" and project.slug == "web-pages" and project.overlap == 3
    assert Membership.objects.get(project=project).role == Role.LEAD
    cats = list(Category.objects.filter(project=project).order_by("order"))
    assert [c.name for c in cats] == names
    assert [c.hotkey for c in cats] == list("123456789ab")


def test_create_with_duplicate_category_names_creates_nothing():
    with pytest.raises(InvalidInput, match="'violence' is listed twice"):
        project_create(created_by=UserFactory(), name="P", category_names=["Violence", "violence"])
    assert not Project.objects.exists() and not Category.objects.exists()


@pytest.mark.parametrize("overlap", [0, 11, "x"])
def test_create_with_bad_overlap_creates_nothing(overlap):
    with pytest.raises(InvalidInput, match="Overlap must be between 1 and 10"):
        project_create(created_by=UserFactory(), name="P", overlap=overlap)
    assert not Project.objects.exists() and not Membership.objects.exists()


def test_create_with_taken_slug_is_a_conflict_and_leaves_the_first_alone():
    first = project_create(created_by=UserFactory(), name="Same", category_names=["A"])
    with pytest.raises(Conflict, match="'same' already exists"):
        project_create(created_by=UserFactory(), name="Same", category_names=["B"])
    assert Project.objects.count() == 1
    assert list(Category.objects.values_list("name", flat=True)) == ["A"]
    assert Membership.objects.get().project == first


def test_update_overlap_recounts_open_slots(project):
    item_a, item_b = items(project, 2)
    Item.objects.filter(pk=item_a.pk).update(annotation_count=2, open_slots=0)

    project_update(project=project, overlap=3)

    assert Item.objects.get(pk=item_a.pk).open_slots == 1
    assert Item.objects.get(pk=item_b.pk).open_slots == 3


def test_update_guidelines_bumps_version_only_when_changed(project):
    project_update(project=project, guidelines=project.guidelines)
    assert Project.objects.get(pk=project.pk).guidelines_version == 1
    project_update(project=project, guidelines="New rules")
    assert Project.objects.get(pk=project.pk).guidelines_version == 2


def test_update_with_bad_lease_changes_nothing(project):
    with pytest.raises(InvalidInput, match="between 1 and 240 minutes"):
        project_update(project=project, name="Renamed", lease_minutes=0)
    assert Project.objects.get(pk=project.pk).name == project.name


# --- categories -----------------------------------------------------------------------------


def test_category_create_takes_next_free_hotkey(project):
    category = category_create(project=project, name="Spam")
    assert category.hotkey == "6" and category.order == 5


@pytest.mark.parametrize("key", ["u", "S", "0", "?", "g"])
def test_category_create_refuses_reserved_keys(project, key):
    with pytest.raises(InvalidInput, match="reserved on the annotate page"):
        category_create(project=project, name="Spam", hotkey=key)
    assert not Category.objects.filter(name="Spam").exists()


def test_category_create_refuses_duplicate_hotkey_naming_the_holder(project):
    with pytest.raises(Conflict, match="Hotkey '1' is already used by 'Adult Content'"):
        category_create(project=project, name="Spam", hotkey="1")
    assert not Category.objects.filter(name="Spam").exists()


def test_category_create_refuses_duplicate_name(project):
    with pytest.raises(Conflict, match="named 'Violence' already exists"):
        category_create(project=project, name=" Violence ", hotkey="x")
    assert Category.objects.filter(project=project).count() == 5


def test_category_update_changes_fields(project):
    category = Category.objects.get(project=project, name="Hate")
    category_update(
        category=category, name="Hate speech", hotkey="H", order=9, sensitive=True, active=False
    )
    stored = Category.objects.get(pk=category.pk)
    assert (stored.name, stored.hotkey, stored.order, stored.sensitive, stored.active) == (
        "Hate speech",
        "h",
        9,
        True,
        False,
    )


def test_category_update_with_taken_hotkey_changes_nothing(project):
    category = Category.objects.get(project=project, name="Hate")
    with pytest.raises(Conflict, match="already used by 'Violence'"):
        category_update(category=category, name="Renamed", hotkey="2")
    stored = Category.objects.get(pk=category.pk)
    assert (stored.name, stored.hotkey) == ("Hate", "4")


def test_category_update_keeps_its_own_hotkey(project):
    category = Category.objects.get(project=project, name="Hate")
    category_update(category=category, hotkey="4", description="Attacks on groups")
    assert Category.objects.get(pk=category.pk).description == "Attacks on groups"


# --- members --------------------------------------------------------------------------------


def test_membership_set_adds_and_changes_role(project):
    user = UserFactory(username="newbie")
    membership_set(project=project, username="newbie", role=Role.ANNOTATOR)
    membership_set(project=project, username="newbie", role=Role.SCIENTIST)
    assert Membership.objects.get(project=project, user=user).role == Role.SCIENTIST


def test_membership_set_unknown_user_and_role(project):
    with pytest.raises(NotFound, match="No user named 'ghost'"):
        membership_set(project=project, username="ghost", role=Role.ANNOTATOR)
    UserFactory(username="real")
    with pytest.raises(InvalidInput, match="Unknown role 'boss'"):
        membership_set(project=project, username="real", role="boss")
    assert not Membership.objects.filter(project=project).exists()


def test_membership_set_refuses_demoting_the_last_lead(project, lead):
    with pytest.raises(Conflict, match="only lead"):
        membership_set(project=project, username=lead.username, role=Role.ANNOTATOR)
    assert Membership.objects.get(project=project, user=lead).role == Role.LEAD


def test_membership_set_demotes_a_lead_when_another_remains(project, lead):
    other = member(project, Role.LEAD)
    membership_set(project=project, username=lead.username, role=Role.SCIENTIST)
    assert Membership.objects.get(project=project, user=lead).role == Role.SCIENTIST
    assert Membership.objects.get(project=project, user=other).role == Role.LEAD


def test_membership_remove_refuses_the_last_lead(project, lead, annotator):
    last = Membership.objects.get(project=project, user=lead)
    with pytest.raises(Conflict, match="keeps at least one lead"):
        membership_remove(project=project, membership_id=last.pk)
    assert Membership.objects.filter(pk=last.pk).exists()

    other = Membership.objects.get(project=project, user=annotator)
    membership_remove(project=project, membership_id=other.pk)
    assert not Membership.objects.filter(pk=other.pk).exists()


def test_membership_remove_of_another_projects_member_is_not_found(project):
    other_project = project_create(created_by=UserFactory(), name="Other")
    foreign = Membership.objects.get(project=other_project)
    with pytest.raises(NotFound):
        membership_remove(project=project, membership_id=foreign.pk)
    assert Membership.objects.filter(pk=foreign.pk).exists()
