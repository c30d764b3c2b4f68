//! What the simulated callers and bot say, by the caller's intent.

#[derive(Debug)]
pub struct Intent {
    pub name: &'static str,
    pub caller_lines: &'static [&'static str],
    /// The first line is the greeting.
    pub bot_lines: &'static [&'static str],
    /// Follow-up function calls: (name, JSON arguments).
    pub follow_ups: &'static [(&'static str, &'static str)],
}

pub const INTENTS: [Intent; 5] = [
    Intent {
        name: "card_replacement",
        caller_lines: &[
            "Hello, I need help with my card",
            "It got damaged, the chip stopped working",
            "The gold one, ending in 4821",
            "Yes, send it to my home address please",
            "Thanks, that's all",
        ],
        bot_lines: &[
            "Hello! Thank you for calling. How can I help you today?",
            "I'd be happy to help you with your card. What seems to be the issue?",
            "I'm sorry to hear that. Which card would you like to replace?",
            "I've ordered a replacement. It should arrive in five to seven business days.",
            "Is there anything else I can help you with?",
        ],
        follow_ups: &[
            ("verify_identity", r#"{"method": "date_of_birth"}"#),
            (
                "process_replacement",
                r#"{"card_type": "Gold", "reason": "damaged"}"#,
            ),
        ],
    },
    Intent {
        name: "lost_card",
        caller_lines: &[
            "Hi, I think I lost my credit card",
            "I last used it yesterday at the supermarket",
            "Yes please block it right away",
            "My number is 555 0142 if you need it",
            "Okay, thank you",
        ],
        bot_lines: &[
            "Hello! You've reached card services. What can I do for you?",
            "I can help with that. When did you last use the card?",
            "I've blocked the card so nobody else can use it.",
            "A new card is on its way to the address on file.",
            "Anything else today?",
        ],
        follow_ups: &[
            ("block_card", r#"{"reason": "lost"}"#),
            ("verify_identity", r#"{"method": "security_question"}"#),
        ],
    },
    Intent {
        name: "balance_inquiry",
        caller_lines: &[
            "What's the balance on my checking account",
            "And the savings account too please",
            "Great, thanks",
        ],
        bot_lines: &[
            "Hi there, how can I help?",
            "Your checking balance is two thousand four hundred dollars.",
            "Your savings balance is eight thousand one hundred dollars.",
            "Is there anything else?",
        ],
        follow_ups: &[("get_balance", r#"{"account": "savings"}"#)],
    },
    Intent {
        name: "account_inquiry",
        caller_lines: &[
            "I have a question about a charge on my statement",
            "It's a payment of forty dollars from last Tuesday",
            "I don't recognise that merchant",
            "Yes, please open a dispute",
        ],
        bot_lines: &[
            "Good afternoon, what can I help you with?",
            "Let me look at your recent transactions.",
            "I see a payment of forty dollars to an online store.",
            "I've opened a dispute for that charge.",
        ],
        follow_ups: &[
            ("lookup_transactions", r#"{"days": 14}"#),
            ("open_dispute", r#"{"amount": 40.0}"#),
        ],
    },
    Intent {
        name: "transfer_to_human",
        caller_lines: &[
            "I'd like to speak to a real person",
            "It's about a complicated mortgage question",
            "Yes, I'll hold",
        ],
        bot_lines: &[
            "Hello, thanks for calling. How can I help?",
            "I can connect you with an agent. May I ask what it's about?",
            "Thank you. I'm transferring you now, please hold.",
        ],
        follow_ups: &[("transfer_to_human", r#"{"queue": "mortgages"}"#)],
    },
];
