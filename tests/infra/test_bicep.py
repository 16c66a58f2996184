"""The Bicep, parsed by pycep-parser, has the properties the design asks for (docs/deploy.md).

pycep renders a reference (a param, a var) as its bare name and a string literal as its text, so
`value: identityClientId` and `value: 'identityClientId'` look alike; the assertions compare against
names that exist as params/vars of the same file, which keeps that ambiguity harmless.
"""

import json

import pytest
from infra_support import INFRA, property_path, strings

# Built-in role definition ids (the same in every tenant).
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"


def resources_of_type(parsed, type_):
    return {name: r for name, r in parsed["resources"].items() if r["type"] == type_ and not r["existing"]}


def config(resource):
    """The body of a resource, also when it is conditional (`= if (...) {...}`)."""
    body = resource["config"]
    return body["config"] if "condition" in body and "config" in body else body


def var(parsed, name):
    return parsed["variables"][name]["value"]


def the_one(resources):
    assert len(resources) == 1, list(resources)
    return config(next(iter(resources.values())))


# ------------------------------------------------------------------------------------ main.bicep

def test_main_is_subscription_scoped_with_the_azd_resource_token(bicep):
    main = bicep["main"]
    assert main["globals"]["scope"]["value"] == "subscription"
    token = var(main, "resourceToken")
    unique = token["function"]["parameters"]["string_to_change"]["function"]
    assert unique["type"] == "unique_string"
    args = unique["parameters"]
    assert args["base_string"]["function"]["type"] == "subscription"
    assert args["base_string"]["function"]["property_name"] == "id"
    assert (args["extra_string_1"], args["extra_string_2"]) == ("environmentName", "location")
    assert main["parameters"]["location"]["decorators"][-1]["argument"] == {"azd": {"type": "location"}}


def test_main_wires_one_module_per_concern(bicep):
    modules = {name: m["detail"]["path"] for name, m in bicep["main"]["modules"].items()}
    assert modules == {
        "identity": "./app/identity.bicep",
        "monitoring": "./app/monitoring.bicep",
        "storage": "./app/storage.bicep",
        "keyVault": "./app/keyvault.bicep",
        "rbac": "./app/rbac.bicep",
        "api": "./app/api.bicep",
    }
    for name, module in bicep["main"]["modules"].items():
        assert module["config"]["scope"] == "rg", name
    # The app starts only once its identity holds its roles (storage, Key Vault references).
    assert bicep["main"]["modules"]["api"]["config"]["dependsOn"] == ["rbac"]


def test_main_parameters_json_covers_every_required_main_param():
    doc = json.loads((INFRA / "main.parameters.json").read_text())
    assert doc["parameters"]["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert doc["parameters"]["location"]["value"] == "${AZURE_LOCATION}"
    assert doc["parameters"]["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def test_main_parameters_json_names_only_existing_params(bicep):
    doc = json.loads((INFRA / "main.parameters.json").read_text())
    unknown = set(doc["parameters"]) - set(bicep["main"]["parameters"])
    assert not unknown, f"main.parameters.json sets params main.bicep does not declare: {unknown}"
    required = {n for n, p in bicep["main"]["parameters"].items() if "default" not in p}
    missing = required - set(doc["parameters"])
    assert not missing, f"required params azd cannot fill: {missing}"


# ---------------------------------------------------------------------------------- function app

def test_plan_is_flex_consumption_linux(bicep):
    plan = the_one(resources_of_type(bicep["api"], "Microsoft.Web/serverfarms"))
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True          # Linux


def test_site_runs_python_311_on_flex_consumption(bicep):
    site = the_one(resources_of_type(bicep["api"], "Microsoft.Web/sites"))
    assert site["kind"] == "functionapp,linux"
    assert site["tags"]["function"]["type"] == "union"
    # `azd deploy` finds the app by this tag.
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "api"}
    fac = site["properties"]["functionAppConfig"]
    assert fac["runtime"] == {"name": "python", "version": "3.11"}
    assert set(fac["scaleAndConcurrency"]) == {"maximumInstanceCount", "instanceMemoryMB"}
    params = bicep["api"]["parameters"]
    assert params["maximumInstanceCount"]["default"] >= 1
    assert params["instanceMemoryMB"]["default"] in (512, 2048, 4096)
    storage = fac["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {"type": "UserAssignedIdentity",
                                         "userAssignedIdentityResourceId": "identityId"}


def test_site_uses_only_the_user_assigned_identity(bicep):
    site = the_one(resources_of_type(bicep["api"], "Microsoft.Web/sites"))
    assert site["identity"]["type"] == "UserAssigned"
    assert list(site["identity"]["userAssignedIdentities"]) == ["'${identityId}'"]
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    uai_type = "Microsoft.ManagedIdentity/userAssignedIdentities"
    identity = the_one(resources_of_type(bicep["identity"], uai_type))
    assert identity["name"] == "name"
    main_api = bicep["main"]["modules"]["api"]["config"]["params"]
    assert property_path(main_api["identityId"]) == ["identity", "outputs", "id"]
    assert property_path(main_api["identityClientId"]) == ["identity", "outputs", "clientId"]


def test_site_is_https_only_tls12_and_ftp_off(bicep):
    api = bicep["api"]
    site = the_one(resources_of_type(api, "Microsoft.Web/sites"))
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    policies = resources_of_type(api, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {config(p)["name"]: config(p)["properties"]["allow"] for p in policies.values()} == \
        {"ftp": False, "scm": False}


# ------------------------------------------------------------------------------------ app settings

def app_settings(api):
    """{name: value} of every plain setting, and the names of the Key Vault-referenced ones."""
    site = the_one(resources_of_type(api, "Microsoft.Web/sites"))
    assert site["properties"]["siteConfig"]["appSettings"] == "appSettings"
    combined = var(api, "appSettings")["function"]
    assert combined["type"] == "concat"
    parts = [v for k, v in combined["parameters"].items() if k.startswith("array_")] or \
        list(combined["parameters"].values())
    plain: dict[str, object] = {}
    secret_loop = None
    for part in parts:
        value = var(api, part)
        if isinstance(value, list):
            for item in value:
                assert item["name"] not in plain, f"duplicate app setting {item['name']}"
                plain[item["name"]] = item["value"]
        else:
            secret_loop = value
    assert secret_loop is not None, "no Key Vault-referenced settings"
    return plain, secret_loop


def secret_setting_names(api):
    names = set()
    for v in ("teamsSecret", "smtpSecret", "acsSecret"):
        names |= {s for s in strings(var(api, v)) if s.isupper()}
    return names


def test_app_settings_concat_plain_lists_and_the_secret_loop(bicep):
    combined = var(bicep["api"], "appSettings")["function"]
    assert combined["type"] == "concat"
    assert set(strings(combined["parameters"])) == {
        "hostStorageSettings", "platformSettings", "palAuditSettings", "secretSettings"}


def test_host_storage_is_identity_based(bicep):
    plain, _ = app_settings(bicep["api"])
    assert "AzureWebJobsStorage" not in plain, "a connection string would need a shared key"
    assert plain["AzureWebJobsStorage__credential"] == "managedidentity"
    assert plain["AzureWebJobsStorage__clientId"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert property_path(plain[f"AzureWebJobsStorage__{service}ServiceUri"]) == \
            ["storage", "properties", "primaryEndpoints", service]


def test_identity_client_id_settings(bicep):
    plain, _ = app_settings(bicep["api"])
    assert plain["PAL_AUDIT_MANAGED_IDENTITY_CLIENT_ID"] == "identityClientId"
    assert plain["AZURE_CLIENT_ID"] == "identityClientId"


def test_application_insights_uses_entra_auth(bicep):
    plain, _ = app_settings(bicep["api"])
    assert plain["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == \
        "ClientId=${identityClientId};Authorization=AAD"
    assert property_path(plain["APPLICATIONINSIGHTS_CONNECTION_STRING"]) == \
        ["applicationInsights", "properties", "ConnectionString"]
    appi = the_one(resources_of_type(bicep["monitoring"], "Microsoft.Insights/components"))
    assert appi["properties"]["DisableLocalAuth"] is True
    assert property_path(appi["properties"]["WorkspaceResourceId"]) == ["logAnalytics", "id"]


def test_no_setting_flex_consumption_rejects(bicep):
    plain, _ = app_settings(bicep["api"])
    rejected = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
                "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "AzureWebJobsDashboard"}
    assert not rejected & set(plain)


def test_secret_settings_are_key_vault_references(bicep):
    api = bicep["api"]
    _, loop = app_settings(api)
    assert loop["loop_type"]["detail"] == {"item_name": "settingName", "array_name": "secretSettingNames"}
    assert loop["config"]["name"] == "settingName"
    value = loop["config"]["value"]
    assert value.startswith("@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/")
    assert value.endswith("/)"), "versionless reference: a rotated secret is picked up without redeploying"
    assert var(api, "keyVaultUri") == "https://${keyVaultName}${environment().suffixes.keyvaultDns}/"
    names = var(api, "secretSettingNames")["function"]
    assert names["type"] == "concat"
    assert set(strings(names["parameters"])) == \
        {"teamsSecret", "smtpSecret", "acsSecret", "extraSecretSettings"}
    extra = var(api, "extraSecretSettings")["function"]
    assert extra["type"] == "filter"
    assert "registrySecretSettings" in strings(extra), "the registry's secret settings come from the param"


@pytest.mark.parametrize(("var_name", "flag", "setting"), [
    ("teamsSecret", "useTeamsWebhookSecret", "PAL_AUDIT_TEAMS_WEBHOOK_URL"),
    ("smtpSecret", "useSmtpPasswordSecret", "PAL_AUDIT_SMTP_PASSWORD"),
    ("acsSecret", "useAcsConnectionStringSecret", "PAL_AUDIT_ACS_CONNECTION_STRING"),
])
def test_each_builtin_secret_is_referenced_only_when_stored(bicep, var_name, flag, setting):
    cond = var(bicep["api"], var_name)["operator"]
    assert cond["type"] == "conditional"
    ops = cond["operands"]
    assert ops["condition"] == flag
    assert ops["true_value"] == [setting]
    assert ops["false_value"] == []
    assert bicep["main"]["parameters"][flag]["default"] is False
    assert bicep["main"]["modules"]["api"]["config"]["params"][flag] == flag


# ---------------------------------------------------------------------------------------- storage

def test_storage_is_keyless_tls12_and_private_to_entra(bicep):
    account = the_one(resources_of_type(bicep["storage"], "Microsoft.Storage/storageAccounts"))
    props = account["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["defaultToOAuthAuthentication"] is True
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["isLocalUserEnabled"] is False


def test_contract_tables_and_queue_are_declared(bicep):
    storage = bicep["storage"]
    assert var(storage, "tableNames") == ["PalFindings", "PalRuns", "PalTenantStatus"]
    assert var(storage, "queueNames") == ["pal-audit-tenants"]
    container_type = "Microsoft.Storage/storageAccounts/blobServices/containers"
    container = the_one(resources_of_type(storage, container_type))
    assert container["properties"]["publicAccess"] == "None"


# -------------------------------------------------------------------------------------- Key Vault

def test_key_vault_is_rbac_mode_and_recoverable(bicep):
    kv = the_one(resources_of_type(bicep["keyvault"], "Microsoft.KeyVault/vaults"))
    props = kv["properties"]
    assert props["enableRbacAuthorization"] is True
    assert "accessPolicies" not in props
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    secrets = [r for r in bicep["keyvault"]["resources"].values() if r["type"].endswith("/secrets")]
    assert not secrets, "the template must not carry secret values; secrets are set out of band"


# ------------------------------------------------------------------------------- role assignments

def role_assignments(rbac):
    out = {}
    for name, resource in resources_of_type(rbac, "Microsoft.Authorization/roleAssignments").items():
        body = config(resource)
        role_var = body["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        out[name] = {
            "role": var(rbac, role_var),
            "role_var": role_var,
            "scope": body["scope"],
            "principal": body["properties"]["principalId"],
            "principal_type": body["properties"]["principalType"],
            "name": body["name"],
            "conditional": "condition" in resource["config"],
        }
    return out


def test_identity_holds_exactly_the_data_plane_roles_it_needs(bicep):
    granted = {(a["role"], a["scope"]) for a in role_assignments(bicep["rbac"]).values()
               if a["principal"] == "identityPrincipalId"}
    assert granted == {
        (STORAGE_BLOB_DATA_OWNER, "storage"),
        (STORAGE_QUEUE_DATA_CONTRIBUTOR, "storage"),
        (STORAGE_TABLE_DATA_CONTRIBUTOR, "storage"),
        (MONITORING_METRICS_PUBLISHER, "applicationInsights"),
        (KEY_VAULT_SECRETS_USER, "keyVault"),
    }
    for a in role_assignments(bicep["rbac"]).values():
        if a["principal"] == "identityPrincipalId":
            assert a["principal_type"] == "ServicePrincipal"
            assert not a["conditional"]
    main_rbac = bicep["main"]["modules"]["rbac"]["config"]["params"]
    assert property_path(main_rbac["identityPrincipalId"]) == ["identity", "outputs", "principalId"]


def test_deployer_only_gets_secrets_officer_and_only_when_given(bicep):
    assignments = role_assignments(bicep["rbac"]).values()
    deployer = [a for a in assignments if a["principal"] == "deployerPrincipalId"]
    assert [(a["role"], a["scope"], a["conditional"]) for a in deployer] == \
        [(KEY_VAULT_SECRETS_OFFICER, "keyVault", True)]


def test_role_assignment_names_are_deterministic(bicep):
    for name, a in role_assignments(bicep["rbac"]).items():
        guid = a["name"]["function"]
        assert guid["type"] == "guid", name
        args = guid["parameters"]
        assert property_path(args["base_string"]) == [a["scope"], "id"], name
        assert (args["extra_string_1"], args["extra_string_2"]) == (a["principal"], a["role_var"]), name
        assert not {"newGuid", "utcNow", "new_guid", "utc_now"} & strings(a["name"]), name
