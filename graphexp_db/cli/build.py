"""graphexp build (being written)."""


def register(app):
    return None
