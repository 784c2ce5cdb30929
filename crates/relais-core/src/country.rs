//! Countries, by their ISO 3166-1 codes, named in English and French:
//! what a nationality or an address's country is checked against, and how
//! people read it (« Allemagne », « Germany ») where the API writes `DE`.

use crate::error::{DomainError, Result};
use serde::Serialize;

/// A country of ISO 3166-1: its two codes and its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// Its two-letter code, in upper case (`FR`).
    pub alpha2: &'static str,
    /// Its numeric code (250 for France), which Lucca's API gives as a
    /// country's identifier.
    pub numeric: u16,
    /// Its name in English.
    pub en: &'static str,
    /// Its name in French.
    pub fr: &'static str,
}

impl Country {
    /// Every country, by code.
    pub fn all() -> &'static [Country] {
        &COUNTRIES
    }

    /// The country of a two-letter code, in any case.
    pub fn by_code(code: &str) -> Option<&'static Country> {
        let code = code.trim();
        if code.len() != 2 {
            return None;
        }
        let upper = code.to_ascii_uppercase();
        COUNTRIES
            .binary_search_by(|c| c.alpha2.cmp(upper.as_str()))
            .ok()
            .map(|i| &COUNTRIES[i])
    }

    /// Its name as people of `lang` read it (`en`, else French).
    pub fn name_in(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.en
        } else {
            self.fr
        }
    }
}

/// A country a record names, by its ISO 3166-1 two-letter code (`FR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CountryCode(String);

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl CountryCode {
    /// Parses a country for `field`: the two-letter code of a country of
    /// ISO 3166, in any case (`fr`); kept in upper case.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self> {
        Country::by_code(raw)
            .map(|c| Self(c.alpha2.to_owned()))
            .ok_or_else(|| {
                DomainError::said(
                    field,
                    format!(
                        "'{raw}' is not a country: give its ISO 3166 two-letter code, such as FR or DE"
                    ),
                    format!(
                        "« {raw} » n'est pas un pays : indiquez son code ISO 3166 à deux lettres, comme FR ou DE"
                    ),
                )
            })
    }

    /// A code read back from the store: two letters, kept as they are even
    /// when they name no country of ISO 3166 (an older relais took any two
    /// letters), so that such a record still reads.
    pub fn stored(field: &'static str, raw: &str) -> Result<Self> {
        let s = raw.trim();
        if s.len() != 2 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(DomainError::new(
                field,
                format!("'{raw}' is not a two-letter country code such as FR"),
            ));
        }
        Ok(Self(s.to_ascii_uppercase()))
    }

    /// The two letters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country it names, if ISO 3166 has it.
    pub fn country(&self) -> Option<&'static Country> {
        Country::by_code(&self.0)
    }

    /// Its name as people of `lang` read it, or the code when it names no
    /// country.
    pub fn label_in(&self, lang: &str) -> &str {
        label_in(&self.0, lang)
    }
}

/// The name of the country whose two-letter code is `code`, as people of
/// `lang` read it; `code` itself when it names none (an address's country
/// kept as it was typed).
pub fn label_in<'a>(code: &'a str, lang: &str) -> &'a str {
    match Country::by_code(code) {
        Some(c) => c.name_in(lang),
        None => code,
    }
}

const fn c(alpha2: &'static str, numeric: u16, en: &'static str, fr: &'static str) -> Country {
    Country {
        alpha2,
        numeric,
        en,
        fr,
    }
}

/// ISO 3166-1's 249 countries, sorted by two-letter code.
static COUNTRIES: [Country; 249] = [
    c("AD", 20, "Andorra", "Andorre"),
    c("AE", 784, "United Arab Emirates", "Émirats arabes unis"),
    c("AF", 4, "Afghanistan", "Afghanistan"),
    c("AG", 28, "Antigua and Barbuda", "Antigua-et-Barbuda"),
    c("AI", 660, "Anguilla", "Anguilla"),
    c("AL", 8, "Albania", "Albanie"),
    c("AM", 51, "Armenia", "Arménie"),
    c("AO", 24, "Angola", "Angola"),
    c("AQ", 10, "Antarctica", "Antarctique"),
    c("AR", 32, "Argentina", "Argentine"),
    c("AS", 16, "American Samoa", "Samoa américaines"),
    c("AT", 40, "Austria", "Autriche"),
    c("AU", 36, "Australia", "Australie"),
    c("AW", 533, "Aruba", "Aruba"),
    c("AX", 248, "Åland Islands", "Îles Åland"),
    c("AZ", 31, "Azerbaijan", "Azerbaïdjan"),
    c("BA", 70, "Bosnia and Herzegovina", "Bosnie-Herzégovine"),
    c("BB", 52, "Barbados", "Barbade"),
    c("BD", 50, "Bangladesh", "Bangladesh"),
    c("BE", 56, "Belgium", "Belgique"),
    c("BF", 854, "Burkina Faso", "Burkina Faso"),
    c("BG", 100, "Bulgaria", "Bulgarie"),
    c("BH", 48, "Bahrain", "Bahreïn"),
    c("BI", 108, "Burundi", "Burundi"),
    c("BJ", 204, "Benin", "Bénin"),
    c("BL", 652, "Saint Barthélemy", "Saint-Barthélemy"),
    c("BM", 60, "Bermuda", "Bermudes"),
    c("BN", 96, "Brunei", "Brunei"),
    c("BO", 68, "Bolivia", "Bolivie"),
    c("BQ", 535, "Caribbean Netherlands", "Pays-Bas caribéens"),
    c("BR", 76, "Brazil", "Brésil"),
    c("BS", 44, "Bahamas", "Bahamas"),
    c("BT", 64, "Bhutan", "Bhoutan"),
    c("BV", 74, "Bouvet Island", "Île Bouvet"),
    c("BW", 72, "Botswana", "Botswana"),
    c("BY", 112, "Belarus", "Biélorussie"),
    c("BZ", 84, "Belize", "Belize"),
    c("CA", 124, "Canada", "Canada"),
    c("CC", 166, "Cocos (Keeling) Islands", "Îles Cocos"),
    c(
        "CD",
        180,
        "Democratic Republic of the Congo",
        "République démocratique du Congo",
    ),
    c(
        "CF",
        140,
        "Central African Republic",
        "République centrafricaine",
    ),
    c("CG", 178, "Republic of the Congo", "République du Congo"),
    c("CH", 756, "Switzerland", "Suisse"),
    c("CI", 384, "Côte d'Ivoire", "Côte d'Ivoire"),
    c("CK", 184, "Cook Islands", "Îles Cook"),
    c("CL", 152, "Chile", "Chili"),
    c("CM", 120, "Cameroon", "Cameroun"),
    c("CN", 156, "China", "Chine"),
    c("CO", 170, "Colombia", "Colombie"),
    c("CR", 188, "Costa Rica", "Costa Rica"),
    c("CU", 192, "Cuba", "Cuba"),
    c("CV", 132, "Cape Verde", "Cap-Vert"),
    c("CW", 531, "Curaçao", "Curaçao"),
    c("CX", 162, "Christmas Island", "Île Christmas"),
    c("CY", 196, "Cyprus", "Chypre"),
    c("CZ", 203, "Czechia", "Tchéquie"),
    c("DE", 276, "Germany", "Allemagne"),
    c("DJ", 262, "Djibouti", "Djibouti"),
    c("DK", 208, "Denmark", "Danemark"),
    c("DM", 212, "Dominica", "Dominique"),
    c("DO", 214, "Dominican Republic", "République dominicaine"),
    c("DZ", 12, "Algeria", "Algérie"),
    c("EC", 218, "Ecuador", "Équateur"),
    c("EE", 233, "Estonia", "Estonie"),
    c("EG", 818, "Egypt", "Égypte"),
    c("EH", 732, "Western Sahara", "Sahara occidental"),
    c("ER", 232, "Eritrea", "Érythrée"),
    c("ES", 724, "Spain", "Espagne"),
    c("ET", 231, "Ethiopia", "Éthiopie"),
    c("FI", 246, "Finland", "Finlande"),
    c("FJ", 242, "Fiji", "Fidji"),
    c("FK", 238, "Falkland Islands", "Îles Malouines"),
    c("FM", 583, "Micronesia", "Micronésie"),
    c("FO", 234, "Faroe Islands", "Îles Féroé"),
    c("FR", 250, "France", "France"),
    c("GA", 266, "Gabon", "Gabon"),
    c("GB", 826, "United Kingdom", "Royaume-Uni"),
    c("GD", 308, "Grenada", "Grenade"),
    c("GE", 268, "Georgia", "Géorgie"),
    c("GF", 254, "French Guiana", "Guyane"),
    c("GG", 831, "Guernsey", "Guernesey"),
    c("GH", 288, "Ghana", "Ghana"),
    c("GI", 292, "Gibraltar", "Gibraltar"),
    c("GL", 304, "Greenland", "Groenland"),
    c("GM", 270, "Gambia", "Gambie"),
    c("GN", 324, "Guinea", "Guinée"),
    c("GP", 312, "Guadeloupe", "Guadeloupe"),
    c("GQ", 226, "Equatorial Guinea", "Guinée équatoriale"),
    c("GR", 300, "Greece", "Grèce"),
    c(
        "GS",
        239,
        "South Georgia and the South Sandwich Islands",
        "Géorgie du Sud-et-les îles Sandwich du Sud",
    ),
    c("GT", 320, "Guatemala", "Guatemala"),
    c("GU", 316, "Guam", "Guam"),
    c("GW", 624, "Guinea-Bissau", "Guinée-Bissau"),
    c("GY", 328, "Guyana", "Guyana"),
    c("HK", 344, "Hong Kong", "Hong Kong"),
    c(
        "HM",
        334,
        "Heard Island and McDonald Islands",
        "Îles Heard-et-MacDonald",
    ),
    c("HN", 340, "Honduras", "Honduras"),
    c("HR", 191, "Croatia", "Croatie"),
    c("HT", 332, "Haiti", "Haïti"),
    c("HU", 348, "Hungary", "Hongrie"),
    c("ID", 360, "Indonesia", "Indonésie"),
    c("IE", 372, "Ireland", "Irlande"),
    c("IL", 376, "Israel", "Israël"),
    c("IM", 833, "Isle of Man", "Île de Man"),
    c("IN", 356, "India", "Inde"),
    c(
        "IO",
        86,
        "British Indian Ocean Territory",
        "Territoire britannique de l'océan Indien",
    ),
    c("IQ", 368, "Iraq", "Irak"),
    c("IR", 364, "Iran", "Iran"),
    c("IS", 352, "Iceland", "Islande"),
    c("IT", 380, "Italy", "Italie"),
    c("JE", 832, "Jersey", "Jersey"),
    c("JM", 388, "Jamaica", "Jamaïque"),
    c("JO", 400, "Jordan", "Jordanie"),
    c("JP", 392, "Japan", "Japon"),
    c("KE", 404, "Kenya", "Kenya"),
    c("KG", 417, "Kyrgyzstan", "Kirghizistan"),
    c("KH", 116, "Cambodia", "Cambodge"),
    c("KI", 296, "Kiribati", "Kiribati"),
    c("KM", 174, "Comoros", "Comores"),
    c(
        "KN",
        659,
        "Saint Kitts and Nevis",
        "Saint-Christophe-et-Niévès",
    ),
    c("KP", 408, "North Korea", "Corée du Nord"),
    c("KR", 410, "South Korea", "Corée du Sud"),
    c("KW", 414, "Kuwait", "Koweït"),
    c("KY", 136, "Cayman Islands", "Îles Caïmans"),
    c("KZ", 398, "Kazakhstan", "Kazakhstan"),
    c("LA", 418, "Laos", "Laos"),
    c("LB", 422, "Lebanon", "Liban"),
    c("LC", 662, "Saint Lucia", "Sainte-Lucie"),
    c("LI", 438, "Liechtenstein", "Liechtenstein"),
    c("LK", 144, "Sri Lanka", "Sri Lanka"),
    c("LR", 430, "Liberia", "Liberia"),
    c("LS", 426, "Lesotho", "Lesotho"),
    c("LT", 440, "Lithuania", "Lituanie"),
    c("LU", 442, "Luxembourg", "Luxembourg"),
    c("LV", 428, "Latvia", "Lettonie"),
    c("LY", 434, "Libya", "Libye"),
    c("MA", 504, "Morocco", "Maroc"),
    c("MC", 492, "Monaco", "Monaco"),
    c("MD", 498, "Moldova", "Moldavie"),
    c("ME", 499, "Montenegro", "Monténégro"),
    c(
        "MF",
        663,
        "Saint Martin (French part)",
        "Saint-Martin (partie française)",
    ),
    c("MG", 450, "Madagascar", "Madagascar"),
    c("MH", 584, "Marshall Islands", "Îles Marshall"),
    c("MK", 807, "North Macedonia", "Macédoine du Nord"),
    c("ML", 466, "Mali", "Mali"),
    c("MM", 104, "Myanmar", "Birmanie"),
    c("MN", 496, "Mongolia", "Mongolie"),
    c("MO", 446, "Macao", "Macao"),
    c(
        "MP",
        580,
        "Northern Mariana Islands",
        "Îles Mariannes du Nord",
    ),
    c("MQ", 474, "Martinique", "Martinique"),
    c("MR", 478, "Mauritania", "Mauritanie"),
    c("MS", 500, "Montserrat", "Montserrat"),
    c("MT", 470, "Malta", "Malte"),
    c("MU", 480, "Mauritius", "Maurice"),
    c("MV", 462, "Maldives", "Maldives"),
    c("MW", 454, "Malawi", "Malawi"),
    c("MX", 484, "Mexico", "Mexique"),
    c("MY", 458, "Malaysia", "Malaisie"),
    c("MZ", 508, "Mozambique", "Mozambique"),
    c("NA", 516, "Namibia", "Namibie"),
    c("NC", 540, "New Caledonia", "Nouvelle-Calédonie"),
    c("NE", 562, "Niger", "Niger"),
    c("NF", 574, "Norfolk Island", "Île Norfolk"),
    c("NG", 566, "Nigeria", "Nigeria"),
    c("NI", 558, "Nicaragua", "Nicaragua"),
    c("NL", 528, "Netherlands", "Pays-Bas"),
    c("NO", 578, "Norway", "Norvège"),
    c("NP", 524, "Nepal", "Népal"),
    c("NR", 520, "Nauru", "Nauru"),
    c("NU", 570, "Niue", "Niue"),
    c("NZ", 554, "New Zealand", "Nouvelle-Zélande"),
    c("OM", 512, "Oman", "Oman"),
    c("PA", 591, "Panama", "Panama"),
    c("PE", 604, "Peru", "Pérou"),
    c("PF", 258, "French Polynesia", "Polynésie française"),
    c("PG", 598, "Papua New Guinea", "Papouasie-Nouvelle-Guinée"),
    c("PH", 608, "Philippines", "Philippines"),
    c("PK", 586, "Pakistan", "Pakistan"),
    c("PL", 616, "Poland", "Pologne"),
    c(
        "PM",
        666,
        "Saint Pierre and Miquelon",
        "Saint-Pierre-et-Miquelon",
    ),
    c("PN", 612, "Pitcairn Islands", "Îles Pitcairn"),
    c("PR", 630, "Puerto Rico", "Porto Rico"),
    c("PS", 275, "Palestine", "Palestine"),
    c("PT", 620, "Portugal", "Portugal"),
    c("PW", 585, "Palau", "Palaos"),
    c("PY", 600, "Paraguay", "Paraguay"),
    c("QA", 634, "Qatar", "Qatar"),
    c("RE", 638, "Réunion", "La Réunion"),
    c("RO", 642, "Romania", "Roumanie"),
    c("RS", 688, "Serbia", "Serbie"),
    c("RU", 643, "Russia", "Russie"),
    c("RW", 646, "Rwanda", "Rwanda"),
    c("SA", 682, "Saudi Arabia", "Arabie saoudite"),
    c("SB", 90, "Solomon Islands", "Îles Salomon"),
    c("SC", 690, "Seychelles", "Seychelles"),
    c("SD", 729, "Sudan", "Soudan"),
    c("SE", 752, "Sweden", "Suède"),
    c("SG", 702, "Singapore", "Singapour"),
    c(
        "SH",
        654,
        "Saint Helena, Ascension and Tristan da Cunha",
        "Sainte-Hélène, Ascension et Tristan da Cunha",
    ),
    c("SI", 705, "Slovenia", "Slovénie"),
    c("SJ", 744, "Svalbard and Jan Mayen", "Svalbard et Jan Mayen"),
    c("SK", 703, "Slovakia", "Slovaquie"),
    c("SL", 694, "Sierra Leone", "Sierra Leone"),
    c("SM", 674, "San Marino", "Saint-Marin"),
    c("SN", 686, "Senegal", "Sénégal"),
    c("SO", 706, "Somalia", "Somalie"),
    c("SR", 740, "Suriname", "Suriname"),
    c("SS", 728, "South Sudan", "Soudan du Sud"),
    c("ST", 678, "São Tomé and Príncipe", "Sao Tomé-et-Principe"),
    c("SV", 222, "El Salvador", "Salvador"),
    c(
        "SX",
        534,
        "Sint Maarten (Dutch part)",
        "Saint-Martin (partie néerlandaise)",
    ),
    c("SY", 760, "Syria", "Syrie"),
    c("SZ", 748, "Eswatini", "Eswatini"),
    c(
        "TC",
        796,
        "Turks and Caicos Islands",
        "Îles Turques-et-Caïques",
    ),
    c("TD", 148, "Chad", "Tchad"),
    c(
        "TF",
        260,
        "French Southern Territories",
        "Terres australes françaises",
    ),
    c("TG", 768, "Togo", "Togo"),
    c("TH", 764, "Thailand", "Thaïlande"),
    c("TJ", 762, "Tajikistan", "Tadjikistan"),
    c("TK", 772, "Tokelau", "Tokelau"),
    c("TL", 626, "Timor-Leste", "Timor oriental"),
    c("TM", 795, "Turkmenistan", "Turkménistan"),
    c("TN", 788, "Tunisia", "Tunisie"),
    c("TO", 776, "Tonga", "Tonga"),
    c("TR", 792, "Türkiye", "Turquie"),
    c("TT", 780, "Trinidad and Tobago", "Trinité-et-Tobago"),
    c("TV", 798, "Tuvalu", "Tuvalu"),
    c("TW", 158, "Taiwan", "Taïwan"),
    c("TZ", 834, "Tanzania", "Tanzanie"),
    c("UA", 804, "Ukraine", "Ukraine"),
    c("UG", 800, "Uganda", "Ouganda"),
    c(
        "UM",
        581,
        "United States Minor Outlying Islands",
        "Îles mineures éloignées des États-Unis",
    ),
    c("US", 840, "United States", "États-Unis"),
    c("UY", 858, "Uruguay", "Uruguay"),
    c("UZ", 860, "Uzbekistan", "Ouzbékistan"),
    c("VA", 336, "Vatican City", "Vatican"),
    c(
        "VC",
        670,
        "Saint Vincent and the Grenadines",
        "Saint-Vincent-et-les-Grenadines",
    ),
    c("VE", 862, "Venezuela", "Venezuela"),
    c(
        "VG",
        92,
        "British Virgin Islands",
        "Îles Vierges britanniques",
    ),
    c(
        "VI",
        850,
        "United States Virgin Islands",
        "Îles Vierges des États-Unis",
    ),
    c("VN", 704, "Vietnam", "Viêt Nam"),
    c("VU", 548, "Vanuatu", "Vanuatu"),
    c("WF", 876, "Wallis and Futuna", "Wallis-et-Futuna"),
    c("WS", 882, "Samoa", "Samoa"),
    c("YE", 887, "Yemen", "Yémen"),
    c("YT", 175, "Mayotte", "Mayotte"),
    c("ZA", 710, "South Africa", "Afrique du Sud"),
    c("ZM", 894, "Zambia", "Zambie"),
    c("ZW", 716, "Zimbabwe", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_each_code_is_unique() {
        assert_eq!(COUNTRIES.len(), 249);
        for pair in COUNTRIES.windows(2) {
            assert!(
                pair[0].alpha2 < pair[1].alpha2,
                "{} before {}",
                pair[0].alpha2,
                pair[1].alpha2
            );
        }
        let mut numerics: Vec<u16> = COUNTRIES.iter().map(|c| c.numeric).collect();
        numerics.sort_unstable();
        numerics.dedup();
        assert_eq!(numerics.len(), 249, "a numeric code is given twice");
        for c in &COUNTRIES {
            assert!(
                c.alpha2.len() == 2 && c.alpha2.chars().all(|l| l.is_ascii_uppercase()),
                "{}",
                c.alpha2
            );
            assert!(!c.en.is_empty() && !c.fr.is_empty(), "{}", c.alpha2);
        }
    }

    #[test]
    fn codes_and_names_find_their_country() {
        assert_eq!(Country::by_code("de").map(|c| c.numeric), Some(276));
        assert_eq!(Country::by_code("FR").map(|c| c.fr), Some("France"));
        assert_eq!(Country::by_code("ZZ"), None);
        assert_eq!(Country::by_code("FRA"), None);
    }

    #[test]
    fn a_country_parses_from_its_code_alone() {
        assert_eq!(
            CountryCode::parse("nationality", " be ").unwrap().as_str(),
            "BE"
        );
        assert!(CountryCode::parse("nationality", "Belgique").is_err());
        let e = CountryCode::parse("nationality", "ZZ").unwrap_err();
        assert_eq!(e.field, "nationality");
        assert!(e.message.contains("'ZZ' is not a country"), "{}", e.message);
        assert!(CountryCode::parse("nationality", "").is_err());
    }

    #[test]
    fn a_stored_code_reads_even_when_no_country_has_it() {
        let kept = CountryCode::stored("nationality", "zz").unwrap();
        assert_eq!(kept.as_str(), "ZZ");
        assert_eq!(kept.country(), None);
        assert_eq!(kept.label_in("fr"), "ZZ");
        assert!(CountryCode::stored("nationality", "Z1").is_err());
    }

    #[test]
    fn a_country_reads_in_each_language() {
        let de = CountryCode::parse("nationality", "DE").unwrap();
        assert_eq!(de.label_in("fr"), "Allemagne");
        assert_eq!(de.label_in("en"), "Germany");
        assert_eq!(label_in("GB", "fr"), "Royaume-Uni");
        assert_eq!(label_in("GB", "en"), "United Kingdom");
        assert_eq!(label_in("Groland", "en"), "Groland");
    }
}
