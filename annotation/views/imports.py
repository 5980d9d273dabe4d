"""placeholder until built"""
from django.http import HttpResponse


def import_page(request, **kw):
    return HttpResponse(status=501)

def import_job_page(request, **kw):
    return HttpResponse(status=501)

def import_job_progress(request, **kw):
    return HttpResponse(status=501)
