"""Users (layer 8): the email login, the donor's profile and the city they give to.
Imports only core. The pages about a donor's money live in reports."""
