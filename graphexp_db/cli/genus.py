"""graphexp genus (being written)."""


def register(app):
    return None
