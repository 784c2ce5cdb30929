//! Word lists for the demo company.

pub const FIRST_NAMES: &[&str] = &[
    "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Laura", "Clara",
    "Lucie", "Marie", "Anaïs", "Pauline", "Mathilde", "Élodie", "Audrey", "Céline", "Nathalie",
    "Sophie", "Isabelle", "Claire", "Amandine", "Charlotte", "Margaux", "Océane", "Aurélie",
    "Hélène", "Juliette", "Valérie", "Thomas", "Nicolas", "Julien", "Maxime", "Antoine",
    "Alexandre", "Quentin", "Kevin", "Romain", "Florian", "Hugo", "Lucas", "Louis", "Théo",
    "Pierre", "Mathieu", "Sébastien", "Guillaume", "Vincent", "Benoît", "François", "Olivier",
    "Jérôme", "Stéphane", "Damien", "Arnaud", "Yann", "Karim", "Mehdi", "Samir",
];

pub const LAST_NAMES: &[&str] = &[
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand",
    "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier",
    "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin",
    "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas",
    "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc",
    "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte",
];

pub const MERCHANTS: &[&str] = &[
    "SNCF Connect", "Brasserie du Théâtre", "Hôtel Mercure", "Ibis Styles", "Total Energies",
    "G7 Taxi", "Air France", "Le Bouchon Lyonnais", "Office Dépôt", "Indigo Parking",
    "Boulangerie Paul", "Novotel", "Uber", "Café de la Gare", "Fnac Pro",
];

pub const CLIENTS: &[&str] = &[
    "M. Lebrun (Groupe Atlantique)", "Mme Ferreira (Soleo)", "M. Weber (Hansa Logistik)",
    "Mme N'Diaye (Banque du Rhône)", "M. Costa (Iberia Foods)",
];
