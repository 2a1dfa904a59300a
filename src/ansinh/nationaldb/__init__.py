"""Cơ sở dữ liệu quốc gia về an sinh xã hội: the national social security database (issue 6).

This first slice holds the electronic social security card (thẻ an sinh xã hội điện tử) and the
population-registry verification client; see ``docs/nationaldb.md``.
"""
