"""Follow-ups (回访): the call after resolution, by someone who never handled the case.

`closeloop.followups.service` schedules, assigns and closes them,
`closeloop.followups.hooks` is what the lifecycle calls, `closeloop.followups.actors`
schedules the follow-ups of cases nobody answered the survey of, and
`closeloop.followups.controllers` serves each user's queue at `/api/v1/followups`.
"""
