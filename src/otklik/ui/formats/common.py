"""The formats both languages share: day.month.year and a 24-hour clock, as the site's pages write them.

The *_FORMAT strings use Django's date-format syntax; the *_INPUT_FORMATS use strftime's and are tried in
order, the first one also writing a form's current value (and the admin calendar's pick).
"""

DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday, in both languages: the calendars are Russian working weeks

DATE_INPUT_FORMATS = [
    "%d.%m.%Y",  # 25.10.2006
    "%Y-%m-%d",  # 2006-10-25 (ISO; <input type="date"> sends this)
    "%d.%m.%y",  # 25.10.06
]
TIME_INPUT_FORMATS = [
    "%H:%M",  # 14:30
    "%H:%M:%S",  # 14:30:59
    "%H:%M:%S.%f",  # 14:30:59.000200
]
DATETIME_INPUT_FORMATS = [
    "%d.%m.%Y %H:%M",  # 25.10.2006 14:30
    "%d.%m.%Y %H:%M:%S",  # 25.10.2006 14:30:59
    "%d.%m.%Y %H:%M:%S.%f",  # 25.10.2006 14:30:59.000200
    "%d.%m.%Y",  # 25.10.2006 (midnight)
    "%Y-%m-%d %H:%M",  # 2006-10-25 14:30 (ISO)
    "%Y-%m-%d %H:%M:%S",  # 2006-10-25 14:30:59
    "%Y-%m-%d %H:%M:%S.%f",  # 2006-10-25 14:30:59.000200
    "%Y-%m-%dT%H:%M",  # 2006-10-25T14:30 (<input type="datetime-local">)
    "%Y-%m-%dT%H:%M:%S",  # 2006-10-25T14:30:59
    "%Y-%m-%d",  # 2006-10-25 (midnight)
    "%d.%m.%y %H:%M",  # 25.10.06 14:30
]
