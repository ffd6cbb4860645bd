"""graphexp db (being written)."""


def register(app):
    return None
