"""The bounded strings request bodies and tenant files share, each stated once.

msgspec checks them when a body is decoded, and the OpenAPI document states the same
bounds.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["AnswerCode", "Email", "Name", "Password", "Short", "Slug", "Text"]

# A name shown to people: a user's, a category's, a policy's, a calendar's.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# A short text that may be empty: a product's model, a customer's nickname.
Short = Annotated[str, msgspec.Meta(max_length=200)]
# What someone writes: a note, a reason, a question, a customer's words.
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
# The code of a level of the tenant's satisfaction scale, as an answer gives it.
AnswerCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# A tenant's slug: lower-case letters, digits and hyphens, 2 to 63.
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
