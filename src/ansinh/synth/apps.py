from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "ansinh.synth"
    label = "synth"
    verbose_name = "Synthetic data"
