"""The demo actors the API's request examples name, by their fixed demo ids
(`services.registry.demo.loader.demo_id`): after `make run`, "Try it out" in /docs can send
every example as it is. A test holds each id equal to its ref's."""

__all__ = ["DEMO_EXAMPLE_ACTORS"]

MONTREUIL = "e32045b3-264a-5aad-98e5-2d37ac31083e"
KAYES = "d77509e5-3925-564b-ab61-290e927045f4"
LILLE = "35704173-efb1-5867-bea4-c2ce9fa87fbf"
SAINT_LOUIS = "05ab0b3b-9bd4-503f-b514-327e74e8fd14"
SANTE_SAHEL_MONTREUIL = "6238b34f-c52d-5ae2-a3ac-50264d2817a0"
PS_EAU = "d7ade274-a624-5f72-a7eb-2e55076f26cb"

# Each id above, by the ref of the demo actor it is.
DEMO_EXAMPLE_ACTORS = {
    "fr-montreuil": MONTREUIL,
    "ml-kayes": KAYES,
    "fr-lille": LILLE,
    "sn-saint-louis": SAINT_LOUIS,
    "asi-sante-sahel-montreuil": SANTE_SAHEL_MONTREUIL,
    "rc-ps-eau": PS_EAU,
}
