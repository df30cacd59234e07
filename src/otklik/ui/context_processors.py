"""Template context every page needs from the shared look: the product name."""


def otklik(request):
    if getattr(request, "user", None) is None:
        return {}
    return {"product_name": "Otklik"}
