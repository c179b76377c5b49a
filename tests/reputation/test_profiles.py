"""Profiles: who may see them, editing one's own on the profile page, skills on jobs and in the job search,
and the links to profiles from proposals, contracts and the comparison table."""

import pytest
from django.urls import reverse

from marketplace.selectors import cover_letter_opening
from tests.contracts.factories import contract_started
from tests.marketplace.factories import JobFactory, ProposalFactory, proposal_with_rows
from tests.reputation.factories import history_build
from tests.users.factories import ClientFactory, FreelancerFactory, UserFactory
from users.models import Skill, User

pytestmark = pytest.mark.django_db


def _profile_form(user: User, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "display_name": user.display_name,
        "timezone": user.timezone,
        "is_client": "on" if user.is_client else "",
        "is_freelancer": "on" if user.is_freelancer else "",
        "headline": "",
        "bio": "",
        "portfolio_links": "",
        "show_total_earned": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_profiles_are_for_signed_in_users_and_only_for_people_in_that_role(client):
    freelancer, hirer, nobody = FreelancerFactory(), ClientFactory(), UserFactory(is_client=False)
    freelancer_url = reverse("reputation:freelancer", args=[freelancer.pk])
    # An anonymous visitor is sent to log in
    response = client.get(freelancer_url)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    client.force_login(UserFactory())
    assert client.get(freelancer_url).status_code == 200
    assert client.get(reverse("reputation:client", args=[hirer.pk])).status_code == 200
    # Someone who never worked as a freelancer has no freelancer profile; no one has one of an unknown id
    assert client.get(reverse("reputation:freelancer", args=[hirer.pk])).status_code == 404
    assert client.get(reverse("reputation:client", args=[nobody.pk])).status_code == 404
    assert client.get(reverse("reputation:freelancer", args=[999_999])).status_code == 404
    # An inactive account shows nothing
    freelancer.is_active = False
    freelancer.save(update_fields=["is_active"])
    assert client.get(freelancer_url).status_code == 404


def test_a_freelancer_edits_headline_bio_skills_and_links_on_the_profile_page(client):
    freelancer = FreelancerFactory()
    client.force_login(freelancer)
    django, figma = Skill.objects.get(name="Django"), Skill.objects.get(name="Figma")
    # When they save their public profile
    response = client.post(
        reverse("profile"),
        _profile_form(
            freelancer,
            headline="  Django   developer ",
            bio="Ten years of web work.",
            skills=[django.pk, figma.pk],
            portfolio_links="https://example.com/a\n\n  https://example.com/b  ",
        ),
    )
    assert response.status_code == 302
    # Then the profile shows it
    freelancer.refresh_from_db()
    assert freelancer.headline == "Django developer"
    assert set(freelancer.skills.all()) == {django, figma}
    assert freelancer.portfolio_urls == ["https://example.com/a", "https://example.com/b"]
    page = client.get(reverse("reputation:freelancer", args=[freelancer.pk])).content.decode()
    for text in ("Django developer", "Ten years of web work.", "Figma", 'href="https://example.com/b"', "Member since"):
        assert text in page
    assert 'rel="nofollow noopener noreferrer ugc"' in page


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ("javascript:alert(1)", "is not a web address"),
        ("ftp://example.com/file", "is not a web address"),
        ("\n".join(f"https://example.com/{n}" for n in range(6)), "at most 5 links"),
    ],
)
def test_bad_portfolio_links_are_refused_and_nothing_changes(client, links, message):
    freelancer = FreelancerFactory(headline="Before")
    client.force_login(freelancer)
    response = client.post(reverse("profile"), _profile_form(freelancer, headline="After", portfolio_links=links))
    assert response.status_code == 200 and message in response.content.decode()
    freelancer.refresh_from_db()
    assert (freelancer.headline, freelancer.portfolio_links) == ("Before", "")


def test_jobs_are_posted_with_skills_and_the_job_list_filters_by_skill(client):
    hirer = ClientFactory()
    client.force_login(hirer)
    python, seo = Skill.objects.get(name="Python"), Skill.objects.get(name="SEO")
    response = client.post(
        reverse("marketplace:job_create"),
        {
            "title": "Data pipeline",
            "description": "Nightly import.",
            "currency": "USD",
            "budget": "900",
            "skills": [python.pk],
        },
    )
    assert response.status_code == 302
    JobFactory(title="Rank our shop")  # no skills
    listed = client.get(reverse("marketplace:jobs_list"), {"skill": python.pk})
    titles = [job.title for job in listed.context["page"]]
    assert titles == ["Data pipeline"]
    assert client.get(reverse("marketplace:jobs_list"), {"skill": seo.pk}).context["page"].paginator.count == 0
    # And an unknown skill is a form error, not a crash
    assert client.get(reverse("marketplace:jobs_list"), {"skill": "999999"}).status_code == 200


def test_the_comparison_shows_each_cover_letters_opening_and_the_freelancers_record(client):
    # Given a job with proposals from a freelancer with a record and from a newcomer
    veteran, newcomer = FreelancerFactory(), FreelancerFactory()
    history_build(paths=("released_on_time", "released_late"), freelancer=veteran)
    job = JobFactory()
    long_letter = "I built twelve shops like yours.\nI start Monday.\nThe third line stays out of the table."
    for freelancer, letter in ((veteran, long_letter), (newcomer, "Short and sweet.")):
        proposal = proposal_with_rows(job=job, freelancer=freelancer)
        proposal.cover_letter = letter
        proposal.save(update_fields=["cover_letter"])
    client.force_login(job.client)
    page = client.get(reverse("marketplace:job_proposals", args=[job.pk])).content.decode()
    # Then the first lines show, the rest not; the veteran's record and the newcomer's label stand beside the price
    assert "I built twelve shops like yours. I start Monday.…" in page
    assert "The third line stays out" not in page
    assert "1 contract completed" in page and "2 milestones paid, 50% on time" in page
    assert "New on Milestone" in page
    assert reverse("reputation:freelancer", args=[veteran.pk]) in page


def test_cover_letter_opening_cuts_long_lines_at_a_word():
    assert cover_letter_opening("one two") == "one two"
    opening = cover_letter_opening("word " * 100)
    assert opening.endswith("word…") and len(opening) <= 221


def test_proposals_and_contracts_link_to_the_profiles(client):
    contract = contract_started(milestones=1)
    proposal = ProposalFactory(job=JobFactory(client=contract.client))
    client.force_login(contract.client)
    page = client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert reverse("reputation:freelancer", args=[contract.freelancer_id]) in page
    assert reverse("reputation:client", args=[contract.client_id]) in page
    page = client.get(reverse("marketplace:proposal_detail", args=[proposal.pk])).content.decode()
    assert reverse("reputation:freelancer", args=[proposal.freelancer_id]) in page
