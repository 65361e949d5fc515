# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kindling.gitops.plugins.filter.app_dashboard import app_dashboard
from ansible_collections.kindling.gitops.plugins.module_utils import dashboard

pytestmark = pytest.mark.skipif(not dashboard.HAS_SDK, reason="grafana-foundation-sdk is not installed")


def test_the_filter_gives_the_environment_s_dashboard():
    assert app_dashboard("app1", environment="prod", namespace="app1-prod")["uid"] == "app1-prod"


@pytest.mark.parametrize("args, field", [(("App1", "dev", "app1-dev"), "app_name"), (("app1", "de v", "app1-dev"), "environment"),
                                         (("app1", "dev", "app1_dev"), "namespace")])
def test_a_bad_name_fails_naming_it(args, field):
    with pytest.raises(AnsibleFilterError, match="app_dashboard: %s: " % field):
        app_dashboard(*args)
