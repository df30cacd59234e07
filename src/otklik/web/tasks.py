"""Load the one schedule of periodic jobs into the job consumer.

`run_huey` (under `otklik worker` and `otklik start`) imports every app's `tasks` module when it starts;
the web app sits at the top of the layers, so it is the one that may import `otklik.schedule`, which
reaches into the apps below for the job bodies.
"""

import otklik.schedule  # noqa: F401  (registers the periodic jobs with Huey)
