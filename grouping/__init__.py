"""newswatch grouping: flagged articles grouped into real-world incidents (events).

>>> from grouping.grouper import Grouper
>>> grouper = Grouper(db)                  # db: an open newswatch database, or None
>>> result = grouper.add(article, detection)
>>> result.event_ids, result.changes
"""
