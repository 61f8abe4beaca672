"""French wording helpers: "de" before a place name, and slugs."""

__all__ = ["at", "of"]

_VOWELS = tuple("AEÉÈÊIÎOÔUYaeéèêiîoôuy")


def of(name: str) -> str:
    """`de Lyon`, `d'Annecy`, `du Havre`, `des Mureaux`, `de La Rochelle`."""
    if name.startswith("Région "):
        return "de la " + name
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    # Y elides before a consonant (d'Yvetot) but not before a vowel (de Yaoundé).
    if name.startswith(_VOWELS) and not (name[:1] in "Yy" and name[1:2] in "aeiouéèAEIOU"):
        return "d'" + name
    return "de " + name


def at(name: str) -> str:
    """`à Lyon`, `au Havre`, `aux Mureaux`."""
    if name.startswith("Le "):
        return "au " + name[3:]
    if name.startswith("Les "):
        return "aux " + name[4:]
    return "à " + name
