"""Satisfaction surveys (首次满意度): a single-use link sent when a case is resolved.

`closeloop.surveys.sending` sends them, `closeloop.surveys.answering` takes the
answers, `closeloop.surveys.hooks` is what the lifecycle calls, and
`closeloop.surveys.controllers` serves `/public/surveys/{token}`.
"""
