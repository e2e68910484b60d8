"""The site as a whole (layer 2): the pages and admin pages that compose several apps
(home, public charity pages, /health/, the charity admin with its needs) and seed_demo."""
