# buildledger's built-in policy (Rego v1). Input: the document described in
# docs/policy.md (input.version 1). Result: data.buildledger.result =
# {"decision": "allow" | "warn" | "deny", "reasons": [{"rule", "message"}]}.
#
# Outside production an image is denied when it has a fixable Critical or
# High finding (a finding whose severity no feed gives counts as High: Go's
# database carries none, and the default errs on the side of stopping it),
# no verified build record from a trusted builder nor an index by this
# ledger, or a provenance mismatch; so is an image the ledger does not know
# at all. In production the same are warnings:
# the policy never breaks a running service on its own. An alpha API in
# production is a warning. Waived findings do not count, nor do findings a
# trusted author's VEX statement calls not_affected or fixed (an unsigned
# VEX statement is shown but changes nothing). A Go finding whose vulnerable
# symbols are absent from the image's binaries, as read by this ledger's own
# index of the image (reachability.state "absent", trust "observed"), is
# informational: linked, but the vulnerable code is not in the binary.
#
# result.priority ranks decisions alike: the worst counted finding's
# severity, raised when the image exposes a non-stable (alpha or beta) API,
# so a Critical finding there ranks above the same finding elsewhere.
package buildledger

production if input.deployment.environment == "production"

severe := {"critical", "high", "unknown"}

# A trusted author says the image is not exposed.
vex_cleared(f) if {
	f.vex.trusted
	f.vex.status in {"not_affected", "fixed"}
}

# Our index of the image shows the vulnerable code is not in it.
unreachable(f) if {
	f.reachability.state == "absent"
	f.reachability.trust == "observed"
}

counted contains f if {
	some f in input.findings
	f.kind == "vuln"
	not f.waived
	not vex_cleared(f)
	not unreachable(f)
}

# Names the vulnerable Go symbols found in the image's binaries, if any.
reach_note(f) := sprintf("; in the binary: %s", [concat(", ", f.reachability.symbols)]) if {
	f.reachability.state == "present"
} else := ""

violations contains v if {
	some f in counted
	f.fix_available
	f.severity in severe
	v := {
		"rule": "fixable-severe-finding",
		"message": sprintf("%s (%s) in %s, fixed in %s%s", [f.advisory, f.severity, f.purl, f.fixed, reach_note(f)]),
		"advisory": f.advisory,
	}
}

# The ledger has no record of the image at all (input.image.known is
# false): a tag it never saw, or a digest nobody built or indexed here.
unknown_image if input.image.known == false

violations contains v if {
	unknown_image
	v := {
		"rule": "unknown-image",
		"message": sprintf("%s is not in the ledger", [input.image.reference]),
	}
}

violations contains v if {
	not input.trust.trusted
	not unknown_image
	v := {
		"rule": "untrusted-build",
		"message": "no verified build record from a trusted builder and no index of the image by this ledger",
	}
}

violations contains v if {
	count(input.mismatches) > 0
	v := {
		"rule": "provenance-mismatch",
		"message": sprintf("%d provenance mismatch(es) between build claims and the image", [count(input.mismatches)]),
	}
}

warnings contains v if {
	production
	some a in input.apis
	a.stability == "alpha"
	v := {"rule": "alpha-api-in-production", "message": sprintf("exposes the alpha API %s", [a.name])}
}

weight := {"critical": 40, "high": 30, "unknown": 25, "medium": 20, "low": 10}

non_stable_api if {
	some a in input.apis
	a.stability in {"alpha", "beta"}
}

exposure := 5 if {
	non_stable_api
} else := 0

priority := max({weight[f.severity] | some f in counted}) + exposure if {
	count(counted) > 0
} else := 0

decision := "deny" if {
	not production
	count(violations) > 0
} else := "warn" if {
	count(violations) + count(warnings) > 0
} else := "allow"

result := {
	"decision": decision,
	"reasons": array.concat(sort([r | some r in violations]), sort([r | some r in warnings])),
	"priority": priority,
}
