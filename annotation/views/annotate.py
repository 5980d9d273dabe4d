"""Annotator page (built in the annotator-page step)."""
from django.http import HttpResponse


def annotate_page(request, **kw):
    return HttpResponse(status=501)

def next_item(request, **kw):
    return HttpResponse(status=501)

def submit(request, **kw):
    return HttpResponse(status=501)

def skip(request, **kw):
    return HttpResponse(status=501)

def undo(request, **kw):
    return HttpResponse(status=501)

def renew(request, **kw):
    return HttpResponse(status=501)

def release(request, **kw):
    return HttpResponse(status=501)

def progress(request, **kw):
    return HttpResponse(status=501)
