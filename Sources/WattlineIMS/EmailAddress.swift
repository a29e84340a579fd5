/// E-mail address syntax for invitations (contract: RFC 5321, at most 254 characters), checked
/// on the normalised form (`ImsService.normalizeEmail`).
///
/// Accepted: a dot-atom local part of at most 64 bytes (RFC 5321 atext, plus any non-ASCII
/// letter or symbol as RFC 6531 allows), an "@", and a domain of at least two dot-separated
/// labels of 1 to 63 bytes (letters, digits, hyphens not at either end, non-ASCII for IDNs), at
/// most 253 bytes. Refused although RFC 5321 allows them: quoted local parts, address literals
/// ("[192.0.2.1]") and dotless domains, which public mail does not reach.
enum EmailAddress {
    static func isValid(_ normalized: String) -> Bool {
        guard normalized.unicodeScalars.count <= 254 else { return false }
        let parts = normalized.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        guard (1...64).contains(local.utf8.count), (1...253).contains(domain.utf8.count) else { return false }
        let atoms = local.split(separator: ".", omittingEmptySubsequences: false)
        guard atoms.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy(isAtext) }) else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { isLetterOrDigit($0) || $0 == "-" }
        }
    }

    private static let asciiSpecials = Set("!#$%&'*+-/=?^_`{|}~".unicodeScalars)

    private static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return isLetterOrDigit(scalar) || asciiSpecials.contains(scalar) }
        return isVisibleNonASCII(scalar)
    }

    private static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        return isVisibleNonASCII(scalar)
    }

    /// Non-ASCII letters, marks, digits and symbols; never spaces, controls, format characters
    /// (invisible joiners, bidirectional overrides), separators or unassigned code points.
    private static func isVisibleNonASCII(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }
}
