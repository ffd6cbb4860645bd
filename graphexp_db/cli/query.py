"""graphexp query (being written)."""


def register(app):
    return None
