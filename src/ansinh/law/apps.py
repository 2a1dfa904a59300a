from django.apps import AppConfig


class LawConfig(AppConfig):
    name = "ansinh.law"
    label = "law"
    verbose_name = "Law (rule tables)"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from ansinh.law import models
        from ansinh.law.selectors import rules_changed

        # Rule caches are in-process: any write to a rule table invalidates them.
        for model in (
            models.ContributionRate,
            models.ReferenceAmount,
            models.SalaryCap,
            models.LegalParameter,
        ):
            post_save.connect(rules_changed, sender=model, dispatch_uid=f"law-{model.__name__}")
            post_delete.connect(
                rules_changed, sender=model, dispatch_uid=f"law-del-{model.__name__}"
            )

        from ansinh.law.calendar import forget_announcements

        def calendar_changed(**_kwargs: object) -> None:
            forget_announcements()

        for signal in (post_save, post_delete):
            signal.connect(
                calendar_changed,
                sender=models.CalendarAnnouncement,
                dispatch_uid=f"law-calendar-{signal is post_save}",
                weak=False,
            )
