"""graphexp finite (being written)."""


def register(app):
    return None
