def test_the_home_page_answers(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Hometown Fund" in response.content


def test_the_home_page_shows_live_figures_per_city(client, alice, bob):
    import datetime as dt

    from tests.factories import CharityFactory, DistributionFactory, SubscriptionFactory

    vt = CharityFactory(city="Springfield", state="VT")
    CharityFactory(city="springfield ", state="VT")  # same city, other spelling
    ky = CharityFactory(city="Springfield", state="KY")
    a = SubscriptionFactory(user=alice)
    b = SubscriptionFactory(user=bob)
    SubscriptionFactory(user=bob, status="cancelled")
    DistributionFactory(
        subscription=a, charity=vt, amount_cents=700, week_start=dt.date(2026, 11, 9)
    )
    DistributionFactory(
        subscription=a, charity=vt, amount_cents=500, week_start=dt.date(2026, 11, 16)
    )
    DistributionFactory(
        subscription=b, charity=ky, amount_cents=300, week_start=dt.date(2026, 11, 16)
    )
    response = client.get("/")
    figures = response.context["figures"]
    assert figures.week_start == dt.date(2026, 11, 16)
    assert (figures.donors, figures.charities, len(figures.cities)) == (2, 3, 2)
    assert (figures.week_cents, figures.total_cents) == (800, 1500)
    by_place = {c.place: c for c in figures.cities}
    assert by_place["Springfield, VT"].charities == 2
    assert by_place["Springfield, VT"].total_cents == 1200
    assert by_place["Springfield, KY"].week_cents == 300
    html = response.content.decode()
    assert "Springfield, KY" in html and "$12.00" in html


def test_the_home_page_before_any_distribution(client, db):
    figures = client.get("/").context["figures"]
    assert (figures.week_start, figures.total_cents, figures.cities) == (None, 0, [])


def test_a_missing_page_is_a_friendly_404(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()
