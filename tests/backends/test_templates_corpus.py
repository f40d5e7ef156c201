"""The "Done when" pins of the shipped templates against the detection-rules corpus (../shared; skipped without it).

1. Every corpus EQL rule verified as a cluster with the shipped templates installed (and no event yet) would verify
   it: one index per template the rule's index patterns reach, plus an ECS-only index for a pattern reaching none
   (`TemplateVerifier`, as ../shared/reference/integration-mappings/README.md measured it). With ECS alone 210 of the
   1,081 rules fail with "Unknown column"; with the templates 1,040 verify and the 41 below fail, each with the
   fields that make it fail (no template defines them, or only a dynamic template does, which maps a field only once
   a document brings it: a cluster fails them too). A change to the templates or the verifier shows here.
2. The corpus hunted over generated Elastic Defend events (bench/generate.py): no rule fails on a field Elastic
   Defend's templates define (78 rules did with ECS alone); the 6 left name fields no template of the indices
   present defines (ProblemChild's ingest-pipeline fields, auditd's, Network Packet Capture's, Okta's, Kibana's
   legacy `signal.*`), as a cluster holding only these data streams would answer.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from runner.backends import EqlRequest, FileEvents, QueryError, TemplateVerifier
from runner.catalog import load_rules
from runner.ecs import data_stream_name, shipped_templates
from runner.execution.hunt import hunt
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = re.compile(r"Unknown column \[([^\]]+)\]")
TEXT = re.compile(r"\[(\S+) == [^\]]*\] cannot operate on first argument field of data type \[(\w+)\]")
# rule file -> the fields its verification fails on ("name (type)": a field of a type that cannot be compared)
EXPECTED_FAILURES = {
    "rules/_deprecated/discovery_pspy_process_monitoring_detected.toml": ['auditd.data.a0', 'auditd.data.a2'],
    "rules/_deprecated/initial_access_cross_site_scripting.toml": ['processor.name'],
    "rules/cross-platform/execution_d4c_k8s_mda_direct_interactive_kubernetes_api_request_by_usual_utilities.toml":
        ['kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name'],
    "rules/cross-platform/execution_d4c_k8s_mda_forbidden_direct_interactive_kubernetes_api_request.toml":
        ['kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name'],
    "rules/cross-platform/execution_d4c_k8s_mda_kubernetes_api_activity_by_unusual_utilities.toml":
        ['kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name'],
    "rules/cross-platform/execution_d4c_k8s_mda_service_account_token_access_followed_by_kubernetes_api_request.toml":
        ['kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name'],
    "rules/cross-platform/initial_access_fortigate_ssl_vpn_login_followed_by_siem_alert.toml":
        ['kibana.alert.rule.name', 'kibana.alert.risk_score', 'kibana.alert.rule.rule_id'],
    "rules/integrations/aws/persistence_aws_attempt_to_register_virtual_mfa_device.toml":
        ['aws.cloudtrail.session_credential_from_console'],
    "rules/integrations/azure/credential_access_azure_service_principal_signin_then_arc_credential_listing.toml":
        ['azure.activitylogs.identity.claims.appid'],
    "rules/integrations/azure/persistence_entra_id_device_registration_to_prt_chain.toml":
        ['azure.signinlogs.properties.token_protection_status_details.sign_in_session_status', 'azure.auditlogs.properties.target_resources.0.display_name', 'azure.signinlogs.properties.original_transfer_method'],
    "rules/integrations/azure/persistence_entra_id_rt_to_prt_transition_from_user_device.toml":
        ['azure.signinlogs.properties.token_protection_status_details.sign_in_session_status'],
    "rules/integrations/azure/persistence_entra_id_suspicious_cloud_device_registration.toml":
        ['azure.auditlogs.properties.target_resources.0.modified_properties.1.display_name', 'azure.auditlogs.properties.target_resources.0.modified_properties.1.new_value', 'azure.auditlogs.properties.target_resources.0.modified_properties.2.new_value'],
    "rules/integrations/github/exfiltration_github_private_repository_turned_public.toml":
        ['github.operation_type', 'github.visibility'],
    "rules/integrations/github/persistence_new_pat_created.toml": ['github.operation_type'],
    "rules/integrations/google_workspace/initial_access_object_copied_to_external_drive_with_app_consent.toml":
        ['google_workspace.drive.owner_is_team_drive', 'google_workspace.drive.copy_type'],
    "rules/integrations/kubernetes/privilege_escalation_sensitive_rbac_change_followed_by_workload_modification.toml":
        ['kubernetes.audit.user.groups (text)'],
    "rules/integrations/o365/credential_access_entra_id_device_reg_via_oauth_redirection.toml":
        ['o365.audit.ExtendedProperties.RequestType', 'o365.audit.ExtendedProperties.ResultStatusDetail'],
    "rules/integrations/o365/defense_evasion_mfa_notification_email_deleted.toml": ['o365.audit.AffectedItems.Subject'],
    "rules/integrations/o365/discovery_sharepoint_sensitive_term_search.toml": ['o365.audit.SearchQueryText'],
    "rules/integrations/okta/initial_access_okta_suspicious_activity_after_proxy_authentication.toml":
        ['kibana.alert.rule.rule_id', 'kibana.alert.severity'],
    "rules/integrations/okta/persistence_mfa_deactivation_with_no_reactivation.toml": ['okta.target.id'],
    "rules/integrations/okta/persistence_stolen_credentials_used_to_login_to_okta_account_after_mfa_reset.toml":
        ['signal.rule.threat.tactic.name'],
    "rules/integrations/problemchild/defense_evasion_ml_suspicious_windows_event_high_probability.toml":
        ['problemchild.prediction', 'problemchild.prediction_probability', 'blocklist_label'],
    "rules/integrations/problemchild/defense_evasion_ml_suspicious_windows_event_low_probability.toml":
        ['problemchild.prediction', 'problemchild.prediction_probability', 'blocklist_label'],
    "rules/linux/privilege_escalation_suspicious_passwd_file_write.toml": ['auditd.data.a2'],
    "rules/windows/credential_access_adidns_wildcard.toml": ['winlog.event_data.ObjectDN'],
    "rules/windows/credential_access_adidns_wpad_record.toml": ['winlog.event_data.ObjectDN'],
    "rules/windows/credential_access_dnsnode_creation.toml": ['winlog.event_data.ObjectClass'],
    "rules/windows/credential_access_ldap_attributes.toml": ['winlog.event_data.Properties'],
    "rules/windows/discovery_high_number_ad_properties.toml": ['winlog.event_data.Properties'],
    "rules/windows/lateral_movement_remote_task_creation_winlog.toml": ['winlog.event_data.RpcCallClientLocality'],
    "rules/windows/persistence_dontexpirepasswd_account.toml":
        ['winlog.event_data.AttributeLDAPDisplayName', 'winlog.event_data.OperationType', 'winlog.event_data.ObjectDN'],
    "rules/windows/persistence_scheduled_task_creation_winlog.toml": ['winlog.event_data.TaskName'],
    "rules/windows/persistence_sdprop_exclusion_dsheuristics.toml":
        ['winlog.event_data.AttributeLDAPDisplayName', 'winlog.event_data.OperationType'],
    "rules/windows/persistence_service_windows_service_winlog.toml": ['winlog.event_data.ImagePath'],
    "rules/windows/persistence_temp_scheduled_task.toml": ['winlog.event_data.TaskName'],
    "rules/windows/privilege_escalation_group_policy_iniscript.toml": ['winlog.event_data.AttributeLDAPDisplayName'],
    "rules/windows/privilege_escalation_group_policy_privileged_groups.toml":
        ['winlog.event_data.AttributeLDAPDisplayName'],
    "rules/windows/privilege_escalation_group_policy_scheduled_task.toml":
        ['winlog.event_data.AttributeLDAPDisplayName'],
    "rules/windows/privilege_escalation_krbrelayup_service_creation.toml": ['winlog.event_data.ElevatedToken'],
    "rules/windows/privilege_escalation_windows_service_via_unusual_client.toml": ['winlog.event_data.ParentProcessId'],
}


def _fields(reason: str) -> list[str]:
    return [*dict.fromkeys(UNKNOWN.findall(reason)), *(f"{name} ({kind})" for name, kind in TEXT.findall(reason))]


def test_corpus_rules_verify_on_the_shipped_templates_as_on_a_cluster_with_them_installed() -> None:
    root = shared_path("detection-rules")
    verify = TemplateVerifier(shipped_templates()).verify
    checked, failures = 0, {}
    for path in sorted(root.rglob("*.toml")):
        rule = tomllib.loads(path.read_text(encoding="utf-8")).get("rule", {})
        if rule.get("language") != "eql":
            continue
        checked += 1
        body: dict[str, Any] = {"query": rule["query"]}
        if rule.get("event_category_override"):
            body["event_category_field"] = rule["event_category_override"]
        try:
            verify(EqlRequest(tuple(rule.get("index") or ["logs-*"]), body))
        except QueryError as error:
            failures[str(path.relative_to(root))] = _fields(error.reason)
    assert checked == 1081
    assert checked - len(failures) == 1040
    assert failures == EXPECTED_FAILURES


def _generated(count: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate  # type: ignore[import-not-found]  # bench/ is on sys.path for this import only
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return list(generate.generate(count, seed=7))


def test_the_corpus_hunted_over_defend_events_fails_on_no_field_defends_templates_define() -> None:
    rules = [rule for rule in load_rules([shared_path("detection-rules")]).rules if rule.type == "eql"]
    docs = _generated(20_000)
    assert {data_stream_name(doc["_index"]) for doc in docs} == {
        "logs-endpoint.events.process-default", "logs-endpoint.events.network-default", "logs-endpoint.events.file-default"}
    results = hunt(rules, FileEvents([lambda: iter(docs)]))
    unknown = {result.rule.path.name: _fields(result.message) for result in results
               if "Unknown column" in result.message}
    defend = set().union(*(t.fields for t in shipped_templates() if t.title == "Elastic Defend"))
    assert not [field for fields in unknown.values() for field in fields if field in defend]
    assert unknown == {
        "command_and_control_linux_port_knocking_reverse_connection.toml": ["flow.final"],
        "persistence_stolen_credentials_used_to_login_to_okta_account_after_mfa_reset.toml": [
            "signal.rule.threat.tactic.name", "okta.event_type"],  # Okta's field: no Okta index among Defend's
        "defense_evasion_ml_suspicious_windows_event_high_probability.toml": [
            "problemchild.prediction", "problemchild.prediction_probability", "blocklist_label"],
        "defense_evasion_ml_suspicious_windows_event_low_probability.toml": [
            "problemchild.prediction", "problemchild.prediction_probability", "blocklist_label"],
        "execution_netcon_from_rwx_mem_region_binary.toml": ["auditd.data.syscall", "auditd.data.a2"],
        "privilege_escalation_suspicious_passwd_file_write.toml": ["auditd.data.a2"],
    }
