"""Users, logins and tokens of people: the auth, users and me routes."""
