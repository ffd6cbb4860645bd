"""graphexp expand (being written)."""


def register(app):
    return None
