import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ansinh.settings")

from ansinh.core.fastpath import FastPathDispatcher

application = FastPathDispatcher(get_wsgi_application())
