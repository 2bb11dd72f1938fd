/* Firewall rules that take the network away from the offline sandbox user
 * (INetFwPolicy2, COM from C).
 *
 * Two rules, both blocking, enabled, for every profile, and scoped to the
 * CapsidOffline account alone through INetFwRule3's
 * LocalUserAuthorizedList (an SDDL string granting that SID): outbound
 * and inbound traffic to any address but loopback. Loopback stays open,
 * so a job's own test servers work. A block rule wins over any allow rule
 * in Windows Firewall, so nothing another program adds reopens it.
 *
 * Setup first checks that local rules take effect at all
 * (LocalPolicyModifyState: group policy may override them), adds or
 * reconfigures each rule by its fixed name, then reads every property
 * back: a rule that does not say what was asked fails setup (fail
 * closed), never a silently open network. */
#define COBJMACROS
#include "net.h"

#include "win-util.h"

#include <initguid.h> /* CLSID_NetFw*, IID_INetFw* defined here, once */
#include <netfw.h>
#include <oleauto.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* icftypes.h's "any protocol" (256); mingw-w64 10 lacks the name. */
#ifndef NET_FW_IP_PROTOCOL_ANY
#define NET_FW_IP_PROTOCOL_ANY 256
#endif

/* Every address but 127.0.0.0/8 and ::1. */
#define NON_LOOPBACK                                                         \
  L"0.0.0.0-126.255.255.255,128.0.0.0-255.255.255.255,::,::2-ffff:ffff:"     \
  L"ffff:ffff:ffff:ffff:ffff:ffff"

typedef struct rule_spec_s {
  const WCHAR* name;
  NET_FW_RULE_DIRECTION dir;
} rule_spec_t;

static const rule_spec_t rules[] = {
    {L"capsid_offline_block_outbound", NET_FW_RULE_DIR_OUT},
    {L"capsid_offline_block_inbound", NET_FW_RULE_DIR_IN},
};


typedef struct fw_s {
  int com_ok;
  INetFwPolicy2* policy;
  INetFwRules* rules;
} fw_t;


static void fw_close(fw_t* fw) {
  if (fw->rules != NULL)
    INetFwRules_Release(fw->rules);
  if (fw->policy != NULL)
    INetFwPolicy2_Release(fw->policy);
  if (fw->com_ok)
    CoUninitialize();
  memset(fw, 0, sizeof(*fw));
}


static int fw_fail(fw_t* fw, capsid_error_t* err, HRESULT hr,
                   const char* what) {
  fw_close(fw);
  return capsid__error_set(err, hr == E_ACCESSDENIED ? CAPSID_EPERM
                                                     : CAPSID_ECONFINE,
                           CAPSID_STAGE_NETNS, (int)hr, NULL, NULL,
                           "firewall: %s (HRESULT 0x%08lx)", what,
                           (unsigned long)hr);
}


static int fw_open(fw_t* fw, capsid_error_t* err) {
  HRESULT hr;

  memset(fw, 0, sizeof(*fw));
  hr = CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
  /* S_FALSE: already initialised on this thread; still to be balanced. */
  fw->com_ok = SUCCEEDED(hr);
  if (FAILED(hr) && hr != RPC_E_CHANGED_MODE)
    return fw_fail(fw, err, hr, "CoInitializeEx failed");
  hr = CoCreateInstance(&CLSID_NetFwPolicy2, NULL, CLSCTX_INPROC_SERVER,
                        &IID_INetFwPolicy2, (void**)&fw->policy);
  if (FAILED(hr))
    return fw_fail(fw, err, hr, "cannot create INetFwPolicy2");
  hr = INetFwPolicy2_get_Rules(fw->policy, &fw->rules);
  if (FAILED(hr))
    return fw_fail(fw, err, hr, "cannot get the rule collection");
  return 0;
}


/* The rule named spec->name, or NULL. */
static INetFwRule3* find_rule(fw_t* fw, const rule_spec_t* spec) {
  BSTR name = SysAllocString(spec->name);
  INetFwRule* rule = NULL;
  INetFwRule3* rule3 = NULL;
  HRESULT hr;

  if (name == NULL)
    return NULL;
  hr = INetFwRules_Item(fw->rules, name, &rule);
  SysFreeString(name);
  if (FAILED(hr) || rule == NULL)
    return NULL;
  hr = INetFwRule_QueryInterface(rule, &IID_INetFwRule3, (void**)&rule3);
  INetFwRule_Release(rule);
  return SUCCEEDED(hr) ? rule3 : NULL;
}


/* Sets every property of the rule (also of one that existed, which may
 * have been changed by hand). */
static HRESULT configure(INetFwRule3* r, const rule_spec_t* spec,
                         const WCHAR* sddl) {
  BSTR name = SysAllocString(spec->name);
  BSTR desc = SysAllocString(L"capsid: no network for the offline sandbox "
                             L"user (managed by capsid setup)");
  BSTR group = SysAllocString(L"capsid");
  BSTR addrs = SysAllocString(NON_LOOPBACK);
  BSTR users = SysAllocString(sddl);
  HRESULT hr = E_OUTOFMEMORY;

  if (name && desc && group && addrs && users) {
    hr = INetFwRule3_put_Name(r, name);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Description(r, desc);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Grouping(r, group);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Direction(r, spec->dir);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Protocol(r, NET_FW_IP_PROTOCOL_ANY);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_RemoteAddresses(r, addrs);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Profiles(r, NET_FW_PROFILE2_ALL);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Action(r, NET_FW_ACTION_BLOCK);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_LocalUserAuthorizedList(r, users);
    if (SUCCEEDED(hr))
      hr = INetFwRule3_put_Enabled(r, VARIANT_TRUE);
  }
  SysFreeString(name);
  SysFreeString(desc);
  SysFreeString(group);
  SysFreeString(addrs);
  SysFreeString(users);
  return hr;
}


/* Reads the rule back; returns NULL when it is as planned, else what is
 * not. */
static const char* read_back(INetFwRule3* r, const rule_spec_t* spec,
                             const char* offline_sid) {
  NET_FW_RULE_DIRECTION dir = 0;
  NET_FW_ACTION action = NET_FW_ACTION_ALLOW;
  VARIANT_BOOL enabled = VARIANT_FALSE;
  long profiles = 0;
  BSTR users = NULL;
  char* users8 = NULL;
  const char* bad = NULL;

  if (FAILED(INetFwRule3_get_Direction(r, &dir)) || dir != spec->dir)
    bad = "direction";
  else if (FAILED(INetFwRule3_get_Action(r, &action)) ||
           action != NET_FW_ACTION_BLOCK)
    bad = "action (not block)";
  else if (FAILED(INetFwRule3_get_Enabled(r, &enabled)) ||
           enabled != VARIANT_TRUE)
    bad = "enabled";
  else if (FAILED(INetFwRule3_get_Profiles(r, &profiles)) ||
           (profiles & NET_FW_PROFILE2_ALL) != NET_FW_PROFILE2_ALL)
    bad = "profiles (not all)";
  else if (FAILED(INetFwRule3_get_LocalUserAuthorizedList(r, &users)) ||
           users == NULL || (users8 = capsid__utf8(users)) == NULL ||
           strstr(users8, offline_sid) == NULL)
    bad = "user scope (the offline user's SID is not in it)";
  if (users != NULL)
    SysFreeString(users);
  capsid__free(users8);
  return bad;
}


int capsid__firewall_setup(const char* offline_sid, capsid__report_cb cb,
                           void* data, capsid_error_t* err) {
  WCHAR sddl[128];
  WCHAR* wsid;
  long state = 0;
  fw_t fw;
  size_t i;
  HRESULT hr;
  int rc;

  rc = fw_open(&fw, err);
  if (rc != 0)
    return rc;
  /* Rules only matter where local policy is in force in every profile. */
  hr = INetFwPolicy2_get_LocalPolicyModifyState(
      fw.policy, (NET_FW_MODIFY_STATE*)&state);
  if (FAILED(hr))
    return fw_fail(&fw, err, hr, "cannot tell whether local rules take "
                                 "effect (LocalPolicyModifyState)");
  if (state != NET_FW_MODIFY_STATE_OK)
    return fw_fail(&fw, err, E_FAIL,
                   "local firewall rules are not in effect here (group "
                   "policy or a disabled profile overrides them)");
  /* The rule applies to processes of the users this SDDL grants. */
  wsid = capsid__utf16(offline_sid);
  if (wsid == NULL || wcslen(wsid) + 20 > CAPSID__ARRAY_SIZE(sddl)) {
    capsid__free(wsid);
    return fw_fail(&fw, err, E_INVALIDARG, "the offline user's SID is "
                                           "not usable");
  }
  wcscpy(sddl, L"O:LSD:(A;;CC;;;");
  wcscat(sddl, wsid);
  wcscat(sddl, L")");
  capsid__free(wsid);
  for (i = 0; i < CAPSID__ARRAY_SIZE(rules); i++) {
    INetFwRule3* r = find_rule(&fw, &rules[i]);
    const char* bad;
    char* name8 = capsid__utf8(rules[i].name);
    int added = r == NULL;

    if (r == NULL) {
      hr = CoCreateInstance(&CLSID_NetFwRule, NULL, CLSCTX_INPROC_SERVER,
                            &IID_INetFwRule3, (void**)&r);
      if (FAILED(hr)) {
        capsid__free(name8);
        return fw_fail(&fw, err, hr, "cannot create a rule object");
      }
    }
    /* Fully configured before it is added: never a half-made rule. */
    hr = configure(r, &rules[i], sddl);
    if (SUCCEEDED(hr) && added)
      hr = INetFwRules_Add(fw.rules, (INetFwRule*)r);
    INetFwRule3_Release(r);
    r = SUCCEEDED(hr) ? find_rule(&fw, &rules[i]) : NULL;
    bad = r == NULL ? "not found after adding it"
                    : read_back(r, &rules[i], offline_sid);
    if (r != NULL)
      INetFwRule3_Release(r);
    if (FAILED(hr) || bad != NULL) {
      rc = capsid__error_set(err, FAILED(hr) ? CAPSID_ECONFINE
                                             : CAPSID_EVERIFY,
                             CAPSID_STAGE_NETNS, (int)hr, NULL, NULL,
                             "firewall rule %s: %s", name8 ? name8 : "?",
                             FAILED(hr) ? "cannot be configured" : bad);
      capsid__free(name8);
      fw_close(&fw);
      return rc;
    }
    capsid__say(cb, data, "firewall rule", 1, "%s %s (blocks %s for %s)",
                name8 ? name8 : "?", added ? "added" : "updated",
                rules[i].dir == NET_FW_RULE_DIR_OUT ? "outbound" : "inbound",
                offline_sid);
    capsid__free(name8);
  }
  fw_close(&fw);
  return 0;
}


int capsid__firewall_probe(const char* offline_sid, char* why,
                           size_t size) {
  capsid_error_t err = {0};
  const char* bad = NULL;
  fw_t fw;
  size_t i;

  if (fw_open(&fw, &err) != 0) {
    snprintf(why, size, "%s", err.message ? err.message : "unavailable");
    capsid__error_free(&err);
    return 0;
  }
  for (i = 0; bad == NULL && i < CAPSID__ARRAY_SIZE(rules); i++) {
    INetFwRule3* r = find_rule(&fw, &rules[i]);
    bad = r == NULL ? "missing" : read_back(r, &rules[i], offline_sid);
    if (r != NULL)
      INetFwRule3_Release(r);
  }
  fw_close(&fw);
  snprintf(why, size, "%s", bad == NULL
                                ? "the offline user's rules are in place"
                                : bad);
  return bad == NULL;
}


int capsid__firewall_uninstall(capsid__report_cb cb, void* data) {
  capsid_error_t err = {0};
  int left = 0;
  fw_t fw;
  size_t i;

  if (fw_open(&fw, &err) != 0) {
    capsid__say(cb, data, "firewall rules", 0, "%s",
                err.message ? err.message : "cannot open the firewall");
    capsid__error_free(&err);
    return 1;
  }
  for (i = 0; i < CAPSID__ARRAY_SIZE(rules); i++) {
    BSTR name = SysAllocString(rules[i].name);
    INetFwRule3* r;
    char* name8 = capsid__utf8(rules[i].name);

    if (name != NULL)
      INetFwRules_Remove(fw.rules, name);
    SysFreeString(name);
    /* Verified by looking it up again. */
    r = find_rule(&fw, &rules[i]);
    if (r != NULL) {
      INetFwRule3_Release(r);
      capsid__say(cb, data, "firewall rule", 0, "%s is still there",
                  name8 ? name8 : "?");
      left++;
    } else {
      capsid__say(cb, data, "firewall rule", 1, "%s removed (or absent)",
                  name8 ? name8 : "?");
    }
    capsid__free(name8);
  }
  fw_close(&fw);
  return left;
}
