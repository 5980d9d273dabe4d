"""placeholder until built"""
from django.http import HttpResponse


def project_create_view(request, **kw):
    return HttpResponse(status=501)

def dashboard(request, **kw):
    return HttpResponse(status=501)

def project_settings(request, **kw):
    return HttpResponse(status=501)

def categories(request, **kw):
    return HttpResponse(status=501)

def members(request, **kw):
    return HttpResponse(status=501)

def item_list_view(request, **kw):
    return HttpResponse(status=501)
