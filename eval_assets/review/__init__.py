"""People in the loop (pure): the config's ``review:`` block and which examples of a night need a person.

- ``policy``: the ``review:`` config block and its checks against the config's scorers;
- ``selection``: the night's review tasks, with a reason and a priority;
- ``decisions``: what a reviewer may decide, and what a decision means for the example's verdict.
"""
