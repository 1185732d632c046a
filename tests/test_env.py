"""chatproject.env: the environment's values parsed, with errors that say what to do."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatproject.env import network_list


def test_network_list__addresses_and_networks_kept_spaces_dropped():
    assert network_list(" 127.0.0.0/8, ::1 ,10.1.2.3") == ("127.0.0.0/8", "::1", "10.1.2.3")
    assert network_list("") == ()


def test_network_list__a_bad_entry_names_the_variable_and_the_fix():
    with pytest.raises(ImproperlyConfigured, match=r"CHAT_METRICS_ALLOW=.*'loopback'.*CIDRs"):
        network_list("127.0.0.1,loopback")
