"""Each function's settings: every variable it reads is required, checked at its first invocation, named when missing
or wrong, and set for it by template.yaml."""

import importlib

import pytest

from local.template import ARCHIVE_TEMPLATE, archive_functions, load_settings, load_template, stack_defaults
from pgaudit_archiver.errors import ConfigurationError
from pgaudit_archiver.handlers import SETTINGS_MODELS, clear_container_caches
from pgaudit_archiver.settings import (
    EnsureDeliveryStreamSettings,
    Settings,
    ValidateRequestSettings,
    get_settings,
    variables_of,
)

FUNCTIONS = archive_functions(load_template(ARCHIVE_TEMPLATE))
SET_BY_LAMBDA = {"AWS_REGION"}  # the Lambda service sets it in every function
STACK = {**stack_defaults(), "AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "x" * 16}


def settings_model_of(module: str):
    importlib.import_module(module)
    return SETTINGS_MODELS[module]


@pytest.fixture(autouse=True)
def fresh_container():
    clear_container_caches()
    yield
    clear_container_caches()


@pytest.fixture
def environment(monkeypatch):
    """The process environment holds exactly the stack's variables (the test changes them through the dict)."""
    for name in variables_of(Settings):
        monkeypatch.delenv(name, raising=False)

    def set_environment(variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_environment


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[spec.logical_id for spec in FUNCTIONS])
def test_function_settings_read_only_variables_its_template_sets(spec):
    read = set(variables_of(settings_model_of(spec.module)))
    assert read <= set(spec.environment) | SET_BY_LAMBDA, f"{spec.logical_id} gets no {read - set(spec.environment)}"


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[spec.logical_id for spec in FUNCTIONS])
def test_function_settings_are_valid_with_the_stacks_environment(environment, spec):
    environment(STACK)
    model = settings_model_of(spec.module)
    assert isinstance(get_settings(model), model)


@pytest.mark.parametrize("variable", variables_of(ValidateRequestSettings))
def test_settings_missing_variable_is_named(environment, variable):
    environment({name: value for name, value in STACK.items() if name != variable})
    with pytest.raises(ConfigurationError, match=f"{variable} is not set"):
        get_settings(ValidateRequestSettings)


def test_settings_without_defaults_the_missing_deployment_value_is_not_filled_in(environment):
    environment({name: value for name, value in STACK.items() if name != "MAX_POLLS"})
    with pytest.raises(ConfigurationError) as raised:
        get_settings(EnsureDeliveryStreamSettings)
    assert str(raised.value).count("is not set") == 1
    assert "MAX_POLLS is not set" in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ARCHIVE_ACCOUNT_ID", "12345"),
        ("MAX_POLLS", "0"),
        ("POLL_INTERVAL_SECONDS", "soon"),
        ("DEFAULT_LOG_RETENTION_DAYS", "42"),
        ("DEFAULT_PGAUDIT_LOG", "ddl,reads"),
        ("DEFAULT_REBOOT", "later"),
        ("AUTO_ONBOARD", "sometimes"),
        ("AUTO_REPAIR", "perhaps"),
        ("FIREHOSE_ROLE_ARN", "pgaudit-archiver-firehose"),
        ("EXTERNAL_ID", "x"),
        ("MINIMUM_PGAUDIT_LOG", "ddl,everything"),
        ("MINIMUM_PGAUDIT_LOG", "ddl,role,write,read"),  # above DEFAULT_PGAUDIT_LOG: the defaults must meet it
        ("ALLOWED_FILTER_PATTERNS", '"AUDIT:",\x01'),
        ("AUDIT_REDUCER_ROLE_NAMES", "reducer,role/with/path"),
    ],
)
def test_settings_bad_value_is_named_with_the_value(environment, variable, value):
    environment({**STACK, variable: value})
    with pytest.raises(ConfigurationError) as raised:
        get_settings(Settings)
    assert f"{variable}={value!r} is invalid" in str(raised.value)
    assert str(raised.value).count(" is invalid (") == 1  # only the variable that is wrong


def test_settings_are_validated_once_per_environment(environment, monkeypatch):
    environment(STACK)
    first = get_settings(EnsureDeliveryStreamSettings)
    assert get_settings(EnsureDeliveryStreamSettings) is first
    # Another environment in the same process (another emulated deployment) never gets the first one's settings.
    monkeypatch.setenv("MAX_POLLS", "7")
    other = get_settings(EnsureDeliveryStreamSettings)
    assert other.max_polls == 7
    assert first.max_polls == int(STACK["MAX_POLLS"])


def test_settings_variables_a_model_does_not_read_do_not_matter(environment, monkeypatch):
    environment(STACK)
    first = get_settings(EnsureDeliveryStreamSettings)
    monkeypatch.setenv("EXTERNAL_ID", "another-external-id")  # not read by Ensure Delivery Stream
    assert get_settings(EnsureDeliveryStreamSettings) is first


def test_load_settings_fills_the_templates_defaults_for_tools_and_tests():
    settings = load_settings({"AWS_REGION": "eu-west-1", "ARCHIVE_ACCOUNT_ID": "123456789012", "EXTERNAL_ID": "x" * 16})
    assert (settings.default_reboot, settings.max_polls, settings.partition) == ("deferred", 60, "aws")


def test_audit_policy_minimum_defaults_to_the_default_classes_and_the_default_pattern_is_always_allowed():
    settings = load_settings({**STACK, "DEFAULT_FILTER_PATTERN": '"pgaudit"', "AUDIT_REDUCER_ROLE_NAMES": "a, b*"})
    policy = settings.audit_policy(settings.audit_reducers)
    assert policy.minimum_pgaudit_log == settings.default_pgaudit_log == "ddl,role,write"
    assert policy.allowed_filter_patterns == ('"pgaudit"', '"AUDIT:"', '?"AUDIT:" ?"ERROR:" ?"STATEMENT:"')
    assert policy.reducer_role_names == ("a", "b*")


def test_audit_policy_minimum_below_the_defaults_is_taken():
    settings = load_settings({**STACK, "MINIMUM_PGAUDIT_LOG": "ddl", "DEFAULT_PGAUDIT_LOG": "all,-read"})
    assert settings.audit_policy().minimum_pgaudit_log == "ddl"


def test_stack_defaults_follow_the_templates_parameter_defaults_not_a_copy():
    template = load_template(ARCHIVE_TEMPLATE)
    template["Parameters"]["MaxPolls"]["Default"] = "7"
    template["Parameters"]["DefaultReboot"]["Default"] = "immediate"
    defaults = stack_defaults(template)
    assert (defaults["MAX_POLLS"], defaults["DEFAULT_REBOOT"]) == ("7", "immediate")
    # No default in the template (the deployment's own account and external id): not filled in.
    assert "EXTERNAL_ID" not in defaults and "ARCHIVE_ACCOUNT_ID" not in defaults
