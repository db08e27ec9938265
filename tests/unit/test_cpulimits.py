"""How a running guest's CPU use is bounded, from libvirt's scheduler parameters."""

from helpers.probes.coresidency import cpulimits

UNBOUNDED = {"cpu_shares": 1024, "vcpu_period": 100000, "vcpu_quota": -1,
             "emulator_period": 100000, "emulator_quota": -1, "global_period": 100000,
             "global_quota": -1, "iothread_period": 100000, "iothread_quota": -1}


def test_a_quota_for_the_whole_guest_bounds_it():
    found = cpulimits.bound({**UNBOUNDED, "global_quota": 150000})
    assert found == "global_quota 150000 µs per 100000 µs for the whole guest"


def test_vcpu_quotas_bound_it_only_with_the_emulator_threads():
    assert cpulimits.bound({**UNBOUNDED, "vcpu_quota": 50000}) == ""
    assert cpulimits.bound({**UNBOUNDED, "vcpu_quota": 50000, "emulator_quota": 10000})


def test_cgroup_v2_max_is_no_quota():
    assert cpulimits.bound({**UNBOUNDED, "global_quota": cpulimits.UNLIMITED_QUOTA}) == ""


def test_shares_count_only_where_the_template_sets_them_and_libvirt_applies_them():
    assert cpulimits.bound(UNBOUNDED) == ""
    assert cpulimits.bound(UNBOUNDED, "1024") == \
        "cpu_shares 1024, the weight <cputune><shares> sets"
    assert cpulimits.bound(UNBOUNDED, "512") == ""


def test_no_cpu_cgroup_is_said_in_words():
    assert cpulimits.bound({}, "512") == ""
    assert "no CPU cgroup" in cpulimits.describe({})
    assert cpulimits.describe(UNBOUNDED) == ("cpu_shares 1024, emulator_quota -1, "
                                             "global_quota -1, iothread_quota -1, vcpu_quota -1")
