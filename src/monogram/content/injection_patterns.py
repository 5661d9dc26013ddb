"""The pattern families ``injection`` scores, in English, German, French, Spanish and Italian.

Patterns read lower-case text without accents ("précédentes" reads "precedentes"). Each family
has a category, a weight (how sure a hit alone makes us: 0.9 an attack, 0.6 likely, 0.35 a
hint that needs company) and, for the strongest phrases, a form without spaces or punctuation
that finds them in text whose letters were set apart or run together.

Benign look-alikes are kept out by what the verb acts on: "forget my old address", "ignore the
earlier quote" and "disregard my previous email" do not name instructions, rules or a prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    category: str
    weight: float
    pattern: re.Pattern[str] | None
    squashed: re.Pattern[str] | None = None


def _p(text: str) -> re.Pattern[str]:
    return re.compile(text, re.VERBOSE)


# What an override acts on: the model's instructions, never a customer's own earlier message.
_RULES_EN = r"(?:instructions?|rules|guidelines|directions|directives|prompts?|commands|programming|constraints|restrictions|context|guardrails|polic(?:y|ies)|system\s+message)"
_ALL_EN = r"(?:(?:all|any|every|each|the|your|these|those|of\s+the|of\s+your)\s+){0,3}(?:(?:previous|prior|above|earlier|preceding|former|original|initial|system|old|existing|safety|given)\s+){0,2}"

# ... unless the customer's own earlier message is meant: "the instructions I gave about delivery".
_NOT_MINE = r"(?!\s+(?:i|we)\s+(?:gave|sent|wrote|left|added|made|put)|\s+(?:for|about|on|regarding|in)\s+(?:the\s+|my\s+|our\s+)?(?:delivery|shipping|order|parcel|package|return|address|courier|door))"

# The words the squashed forms are made of: a squashed hit made of these whole words was
# written plainly (and the plain patterns judge it); one that splits words was hidden.
PHRASE_WORDS = frozenset(
    [
        "ignore",
        "disregard",
        "forget",
        "override",
        "bypass",
        "all",
        "any",
        "every",
        "the",
        "your",
        "previous",
        "prior",
        "above",
        "earlier",
        "preceding",
        "former",
        "original",
        "system",
        "instructions",
        "instruction",
        "rules",
        "guidelines",
        "directions",
        "prompt",
        "prompts",
        "commands",
        "new",
        "important",
        "do",
        "anything",
        "now",
        "developer",
        "mode",
        "jail",
        "break",
        "jailbreak",
        "jailbroken",
        "no",
        "limits",
        "ai",
        "unfiltered",
        "uncensored",
        "reveal",
        "show",
        "me",
        "repeat",
        "neue",
        "anweisungen",
        "nouvelles",
        "nuevas",
        "instrucciones",
        "nuove",
        "istruzioni",
    ]
)

FAMILIES: tuple[Family, ...] = (
    # -- instruction override -------------------------------------------------------------
    Family(
        "override",
        0.9,
        _p(
            rf"""\b(?:ignore|ignoring|disregard|forget|override|bypass|skip|drop|abandon|discard|neglect|circumvent)\s+
            {_ALL_EN}{_RULES_EN}\b{_NOT_MINE}"""
        ),
        _p(
            r"(?:ignore|disregard|forget|override|bypass)(?:all|any|every|the|your)+(?:previous|prior|above|earlier|preceding|former|original|system)?(?:instructions?|rules|guidelines|directions|prompts?|commands)"
        ),
    ),
    Family(
        "override",
        0.85,
        _p(
            r"""\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)?(?:the\s+|that\s+)?(?:above|before|said\s+before|you\s+were\s+told|you\s+have\s+been\s+told|previously\s+said|prior\s+to\s+this)\b
            |\bignore\s+the\s+rest\s+of\s+(?:this|the)\s+(?:data|text|document|message)
            |\b(?:your|the)\s+(?:previous|prior|old|original)\s+(?:instructions|rules|guidelines)\s+(?:are|were|have\s+been)\s+(?:void|null|cancelled|revoked|replaced|lifted|suspended)
            |\b(?:instructions|rules)\s+(?:above|before)\s+(?:are|were)\s+(?:void|fake|wrong|outdated|cancelled)
            |\b(?:old|previous|prior|former|original)\s+(?:commands|instructions|rules|orders)\s+(?:are|were)\s+(?:now\s+)?(?:null|void|cancelled|obsolete|revoked|overridden)
            |\bno\s+longer\s+(?:bound|restricted|limited)\s+by\b
            |\b(?:stop|quit)\s+following\s+(?:your|the|all)\s+(?:instructions|rules|guidelines)"""
        ),
    ),
    Family(  # German
        "override",
        0.9,
        _p(
            r"""\b(?:ignorier\w*|missacht\w*|vergiss|vergessen\s+sie|uberschreib\w*|umgeh\w*)\s+(?:\w+\s+){0,4}?(?:anweisung\w*|instruktion\w*|regeln|vorgaben|befehle|richtlinien|systemprompt\w*|prompt\w*|einschrankungen)\b
            |\b(?:alle|deine|ihre)\s+(?:bisherigen\s+|vorherigen\s+|vorigen\s+)?(?:anweisungen|regeln|vorgaben)\s+(?:sind|gelten)\s+(?:ab\s+sofort\s+|jetzt\s+|nun\s+)?(?:ungultig|aufgehoben|nicht\s+mehr)"""
        ),
    ),
    Family(  # French
        "override",
        0.9,
        _p(
            r"""\b(?:ignore[rz]?|oublie[rz]?|ne\s+tiens\s+pas\s+compte\s+d|ne\s+tenez\s+pas\s+compte\s+d|contourne[rz]?|outrepasse[rz]?)\s*(?:\w+\s+){0,4}?(?:instructions?|regles|consignes|directives|prompt|invite\s+systeme|restrictions)\b"""
        ),
    ),
    Family(  # Spanish
        "override",
        0.9,
        _p(
            r"""\b(?:ignora[rd]?|ignore|olvida[rd]?|olvide|omite|omitir|salta(?:te)?|pasa\s+por\s+alto|desobedece)\s+(?:\w+\s+){0,4}?(?:instrucciones|instruccion|reglas|indicaciones|directrices|normas|prompt|restricciones)\b"""
        ),
    ),
    Family(  # Italian
        "override",
        0.9,
        _p(
            r"""\b(?:ignora(?:re)?|dimentica(?:re)?|trascura(?:re)?|scavalca(?:re)?|non\s+seguire)\s+(?:\w+\s+){0,4}?(?:istruzioni|regole|indicazioni|direttive|prompt|restrizioni|vincoli)\b"""
        ),
    ),
    # -- new instructions, role and fence markers ---------------------------------------------
    Family(
        "override",
        0.75,
        _p(
            r"""\b(?:new|updated|revised|real|true|actual|important|additional|secret|hidden)\s+(?:important\s+)?(?:instructions?|task|directive|orders|system\s+prompt)\s*[:!*\-]
            |\*{2,}\s*new\s+(?:important\s+)?instructions
            |\b(?:neue|aktualisierte)\s+anweisung(?:en)?\s*[:!]
            |\bnouvelles?\s+(?:instructions?|consignes)\s*[:!]
            |\bnuevas?\s+instrucciones\s*[:!]
            |\bnuove\s+istruzioni\s*[:!]
            |\byour\s+(?:new|real|actual|only)\s+(?:task|job|instructions?|goal|objective|mission)\s+(?:is|are|now)\b
            |\b(?:instead|rather),?\s+(?:you\s+(?:must|should|will)|do\s+the\s+following|just|only)\b
            |\bfrom\s+now\s+on,?\s+(?:you|always|only|respond|reply|answer|ignore)
            |\b(?:then|now),?\s+your\s+(?:\w+\s+)?task\s+is\s+to\b|\bpriority\s+task\s*:
            |\bdo\s+the\s+following\s+in\s+your\s+(?:response|reply|answer|output)"""
        ),
        _p(
            r"newinstructions|newimportantinstructions|neueanweisungen|nouvellesinstructions|nuevasinstrucciones|nuoveistruzioni"
        ),
    ),
    Family(
        "override",
        0.8,
        _p(
            r"""<\|?(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\|?>|\[/?inst\]|<<\s*/?sys\s*>>
            |(?:^|\n)\s*(?:system|assistant|developer|admin(?:istrator)?)\s*:\s*\S
            |\#{2,}\s*(?:system|instruction|instructions|new\s+task|end\s+of)
            |\bend\s+of\s+(?:the\s+)?(?:customer\s+)?(?:data|message|input|document|context|prompt)\b
            |</?(?:system|instructions?|data|prompt|admin|context)>
            |\bdata\s*>>>|<<<\s*data
            |\[(?:system|admin|developer|instructions?|override)(?:\s+\w+)?\]
            |\b(?:system|admin|developer|security)\s+(?:override|note|notice|message|update|instruction)\s*[:!]"""
        ),
    ),
    # -- persona and jailbreak ------------------------------------------------------------------
    Family(
        "persona",
        0.9,
        _p(
            r"""\bdo\s+anything\s+now\b|\bdan\s+mode\b|\byou\s+are\s+(?:now\s+)?dan\b|\bdeveloper\s+mode\b|\bgod\s+mode\b|\bjail\s?br(?:eak|oken)\b
            |\b(?:unfiltered|uncensored|unrestricted|amoral|unethical|unaligned|evil)\s+(?:ai|assistant|model|chatbot|bot|mode|version|persona|character)\b
            |\b(?:ai|assistant|model|chatbot|bot|you|persona|character)\b[^.!?\n]{0,40}\b(?:without|with\s+no|free\s+(?:of|from)|not\s+subject\s+to)\s+(?:any\s+)?(?:restrictions|filters|censorship|limitations|ethical\s+guidelines|moral\s+constraints|content\s+polic(?:y|ies)|rules)\b
            |\b(?:ethical\s+guidelines|moral\s+constraints|content\s+polic(?:y|ies)|safety\s+filters)\b[^.!?\n]{0,30}\b(?:do\s+not|don't|no\s+longer)\s+apply
            |\b(?:take\s+on|adopt|assume|enter)\s+(?:the\s+)?(?:\w+\s+){0,2}(?:persona|alter\s+ego)\b|\b(?:debug|maintenance|admin|administrator|god|sudo|root)\s+mode\b|\b(?:admin|administrator|developer|root)\s+(?:override|access\s+granted)\b|\bto\s+enable\s+debugging\b
            |\bno[\s-]limits?\s+(?:ai|mode|assistant|version)\b|<interaction-config>|\b(?:allowed|blocked)\s+(?:modes|responses|strings)\s*:
            |\btrained\s+by\s+openai\b|\bopenai(?:'s)?\s+(?:content\s+)?polic(?:y|ies)\b
            |\bstay\s+in\s+character\b|\bbroken\s+free\s+of\b|\bnot\s+(?:bound|restricted)\s+by\s+(?:any\s+)?(?:rules|policies|guidelines|restrictions)
            |\b(?:entwicklermodus|modus\s+ohne\s+(?:filter|einschrankungen)|ohne\s+(?:jegliche\s+)?(?:einschrankungen|filter|zensur))\b
            |\b(?:mode\s+developpeur|sans\s+(?:aucune\s+)?(?:restrictions?|filtres?|censure|limites))\b
            |\b(?:modo\s+desarrollador|sin\s+(?:ninguna\s+)?(?:restricciones|filtros|censura|limites))\b
            |\b(?:modalita\s+sviluppatore|senza\s+(?:alcuna\s+)?(?:restrizioni|filtri|censura|limiti))\b"""
        ),
        _p(
            r"doanythingnow|developermode|jailbreak|jailbroken|nolimitsai|unfilteredai|uncensoredai"
        ),
    ),
    Family(
        "persona",
        0.7,
        _p(
            r"""\byou\s+are\s+(?:now|no\s+longer|from\s+now\s+on)\b|\byou\s+will\s+now\s+(?:act|be|play|respond)\b
            |\b(?:act|behave|respond|answer)\s+(?:as|like)\s+(?:if\s+you\s+(?:were|are)\s+)?(?:an?\s+)?(?:different|new|unrestricted|unfiltered|evil|rogue|hacker|ai|assistant|chatbot|model|character|persona|my|the\s+(?:opposite|system|developer|admin))
            |\bpretend\s+(?:to\s+be|you\s+are|that\s+you|you're)\b|\brole-?\s?play\s+as\b|\bimagine\s+you\s+are\s+an?\s+(?:ai|assistant|model|chatbot)
            |\byou\s+are\s+(?:an?\s+)?(?:ai|assistant|chatbot|model)\s+(?:without|with\s+no|that\s+(?:has\s+no|can\s+do|ignores))
            |\b(?:simulate|emulate)\s+(?:an?\s+)?(?:ai|assistant|chatbot|model|terminal|linux)
            |\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort|ab\s+jetzt|nicht\s+mehr)\b|\btu\s+so,?\s+als\s+(?:ob|warst)|\bverhalte\s+dich\s+(?:wie|als)|\bspiel\w*\s+die\s+rolle
            |\b(?:tu\s+es|vous\s+etes)\s+(?:maintenant|desormais|a\s+present)\b|\bfai[st]\s+(?:comme\s+si|semblant)|\bfaites\s+(?:comme\s+si|semblant)|\bagi[st]\s+comme|\bjoue[rz]?\s+le\s+role
            |\b(?:ahora|a\s+partir\s+de\s+ahora)\s+(?:eres|seras|actuas|actua)\b|\bfinge\s+(?:ser|que)|\bhaz\s+como\s+si|\bactua\s+como|\bcomportate\s+como|\binterpreta\s+el\s+papel
            |\b(?:ora|adesso|da\s+ora\s+in\s+poi)\s+(?:sei|sarai)\b|\bfingi\s+di\s+essere|\bcomportati\s+come|\bagisci\s+come|\bfai\s+finta\s+di"""
        ),
    ),
    # -- exfiltration: the prompt, other customers, data sent elsewhere --------------------------
    Family(
        "exfiltration",
        0.85,
        _p(
            r"""\b(?:reveal|print|show|display|output|repeat|recite|dump|leak|expose|share|tell\s+me|give\s+me|send\s+me|list|write\s+out|copy|paste|spell\s+out|translate|summari[sz]e|encode)\s+(?:\w+\s+){0,4}?(?:system\s+prompt|(?:initial|original|hidden|secret|internal|starting|first|system)\s+(?:prompt|instructions|message|rules|configuration)|your\s+(?:instructions|prompt|rules|guidelines|configuration|directives|programming)|(?:the\s+)?(?:text|words|instructions|everything)\s+(?:above|before\s+this|preceding))
            |\b(?:repeat|recite|output|print|show|reveal|display|tell\s+me|give\s+me|what\s+(?:are|were))\s+(?:\w+\s+){0,3}?(?:instructions|prompt|rules|guidelines|configuration|directives)\s+(?:you\s+(?:were|have\s+been)\s+(?:given|told|provided)|you\s+received|at\s+the\s+(?:beginning|start))
            |\byour\s+(?:initial|original|system|starting|hidden|secret|internal|first|exact)\s+(?:instructions|prompt|configuration|message|rules|directives|settings)
            |\b(?:start|begin)\s+your\s+(?:answer|reply|response)\s+with\s+['"]?(?:my\s+instructions|i\s+was)|\bi\s+was\s+(?:instructed|programmed)\s+to\b|\bmy\s+instructions\s+are\s*:
            |\bwhat\s+are\s+you\s+not\s+(?:supposed|allowed|permitted)\s+to\s+(?:tell|say|reveal|share)
            |\b(?:repeat|print|output|copy|return)\s+(?:this\s+|the\s+)?(?:entire\s+|whole\s+|full\s+)?(?:conversation|chat\s+history|above\s+text|text\s+above|context\s+window)
            |\b(?:text|instructions|words|prompt|rules)\s+you\s+were\s+(?:given|told|provided)\b
            |\binitiali[sz]ation\s+(?:string|text|prompt)|\b(?:output|reveal|print|show)\s+your\s+(?:unique\s+)?(?:id|identifier|api\s+key|token|secret|password)\b
            |\bsystem\s+prompt\b|\b(?:what|which)\s+(?:are|were)\s+your\s+(?:initial\s+|original\s+|exact\s+)?(?:instructions|rules|guidelines|directives)
            |\bwhat\s+were\s+you\s+told\b|\b(?:text|everything|words)\s+(?:above|before)\s+(?:this|verbatim|in\s+full)
            |\b(?:zeig\w*|gib|nenne?|verrat\w*|wiederhol\w*|druck\w*)\s+(?:\w+\s+){0,3}?(?:deine|ihre|die|den)\s+(?:anweisungen|instruktionen|systemanweisung\w*|systemprompt\w*|regeln|vorgaben)
            |\b(?:revele[rz]?|affiche[rz]?|montre[rz]?|donne[rz]?|repete[rz]?|ecri[st])\s+(?:\w+\s+){0,3}?(?:tes|vos|les|ton|votre|le)\s+(?:instructions|consignes|regles|prompt|invite)
            |\b(?:revela|muestra(?:me)?|dime|repite|imprime|ensename)\s+(?:\w+\s+){0,3}?(?:tus|las|el|tu)\s+(?:instrucciones|reglas|indicaciones|prompt)
            |\b(?:rivela|mostra(?:mi)?|dimmi|ripeti|stampa)\s+(?:\w+\s+){0,3}?(?:le\s+tue|le|il\s+tuo|il)\s+(?:istruzioni|regole|indicazioni|prompt)"""
        ),
        _p(r"systemprompt|revealyourinstructions|showmeyourinstructions|repeatyourinstructions"),
    ),
    Family(
        "exfiltration",
        0.85,
        _p(
            r"""\b(?:list|give|show|send|tell|print|output|reveal|share|export|include|provide|forward|email)\s+(?:me\s+)?(?:\w+\s+){0,3}?(?:other|all|every|another)\s+(?:\w+\s+)?(?:customers?|users?|clients?|members?|people|subscribers?|accounts?)(?:'s)?\s+(?:\w+\s+)?(?:emails?|e-mail\s+addresses|addresses|data|details|names|orders|phone|numbers|information|records|passwords?|card)
            |\b(?:api\s+keys?|access\s+tokens?|passwords?|credentials|secret\s+keys?|database|internal\s+data)\b[^.!?\n]{0,40}\b(?:send|show|reveal|print|give|list|output|include)\b
            |\b(?:send|show|reveal|print|give|list|output|include)\b[^.!?\n]{0,40}\b(?:api\s+keys?|access\s+tokens?|credentials|secret\s+keys?|database\s+(?:contents|dump|records))\b
            |\b(?:emails?|e-mail\s+addresses|addresses|phone\s+numbers|details|names|data|orders)\s+of\s+(?:the\s+)?(?:other|all|every)\s+(?:customers|users|clients|members|subscribers|buyers)
            |!\[[^\]]{0,80}\]\(\s*https?://[^)\s]{0,200}[?&][^)\s]{0,200}\)
            |\b(?:send|post|forward|upload|transmit|exfiltrate|email)\s+(?:\w+\s+){0,5}?(?:to|at)\s+(?:https?://|www\.|[\w.+-]+@[\w-]+\.)
            |\b(?:alle|andere)\w*\s+(?:kunden|nutzer|benutzer)\w*\s+(?:\w+\s+)?(?:daten|e-?mails?|adressen)
            |\b(?:tous\s+les|autres)\s+(?:clients|utilisateurs)\b[^.!?\n]{0,30}(?:donnees|e-?mails?|adresses)
            |\b(?:todos\s+los|otros)\s+(?:clientes|usuarios)\b[^.!?\n]{0,30}(?:datos|correos|direcciones)
            |\b(?:tutti\s+i|altri)\s+(?:clienti|utenti)\b[^.!?\n]{0,30}(?:dati|email|indirizzi)"""
        ),
    ),
    # -- text that addresses the AI (indirect injection) ---------------------------------------
    Family(
        "indirect",
        0.8,
        _p(
            r"""\b(?:note|message|instructions?|memo|reminder|hint|notice|directive)s?\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|a\.i\.|assistant|model|llm|bot|chatbot|gpt|language\s+model|automated\s+(?:system|reader|assistant|screening)|summari[sz]er)\b
            |\b(?:dear|hey|hi|hello|attention|attn|to\s+the)\s*,?\s+(?:ai|a\.i\.|assistant|model|llm|chatbot|gpt|language\s+model|claude|chatgpt|gemini|copilot)\b
            |\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|a\.i\.|llm|language\s+model|assistant|bot|chatbot|automated|large\s+language)
            |\b(?:ai|llm|language\s+model|assistant|bot)s?\s+(?:reading|processing|summari[sz]ing|parsing|handling|answering)\s+(?:this|these)
            |\b(?:when|while|if|before)\s+(?:you\s+(?:are\s+)?)?(?:summari[sz]\w*|process\w*|read\w*|translat\w*|answer\w*|reply\w*|respond\w*|draft\w*|writ\w*)\s+(?:to\s+)?(?:this|these|the\s+(?:above|following))\b[^.!?\n]{0,60}\b(?:instead|also|must|always|make\s+sure|be\s+sure|include|mention|add|say|tell|reply|respond|ignore)\b
            |\bif\s+you\s+are\s+(?:told|asked)\s+to\s+(?:summari[sz]e|answer|translate|reply|respond)
            |\b(?:white|hidden|invisible)[-\s](?:text|metadata|instruction|note)\b|\binvisible\s+to\s+humans\b|\bvisible\s+(?:only\s+)?to\s+(?:the\s+)?(?:ai|llm|model|bots?)
            |<!--[^>]{0,400}-->
            |\b(?:hinweis|nachricht|anweisung)\s+(?:an|fur)\s+(?:die\s+|das\s+|den\s+)?(?:ki|ai|assistent\w*|modell|sprachmodell|chatbot)\b|\bwenn\s+du\s+(?:eine\s+)?(?:ki|ai|sprachmodell|assistent)\s+bist
            |\b(?:note|message|instructions?)\s+(?:a|pour)\s+(?:l'|l\s)?(?:ia|ai|assistant|modele|intelligence\s+artificielle)\b|\bsi\s+(?:tu\s+es|vous\s+etes)\s+(?:une?\s+)?(?:ia|ai|assistant|modele|intelligence\s+artificielle)
            |\b(?:nota|mensaje|instrucciones?)\s+(?:para|a)\s+(?:la\s+|el\s+)?(?:ia|ai|asistente|modelo|inteligencia\s+artificial)\b|\bsi\s+eres\s+(?:una?\s+)?(?:ia|ai|asistente|modelo|inteligencia\s+artificial)
            |\b(?:nota|messaggio|istruzioni)\s+(?:per|a)\s+(?:l'|l\s)?(?:ia|ai|assistente|modello|intelligenza\s+artificiale)\b|\bse\s+sei\s+(?:una?\s+|un'\s*)?(?:ia|ai|assistente|modello|intelligenza\s+artificiale)"""
        ),
    ),
    # -- dictated output: what the reply must say ------------------------------------------------
    Family(
        "concession",
        0.8,
        _p(
            r"""\b(?:reply|respond|answer|write|say|state|confirm|print|output|tell\s+(?:me|them|the\s+customer|everyone))\s+(?:only\s+|exactly\s+|just\s+)?(?:with|that|the\s+following|this|verbatim|back)\b[^.!?\n]{0,80}(?:\d{1,3}\s?%|100\s?%|free|refund|voucher|coupon|discount|code|approved|granted|compensation|credit|gift\s+card|pwned|hacked|\bhaha)
            |\b(?:your\s+(?:reply|response|answer|email|message|output)|the\s+(?:reply|response|answer))\s+(?:must|should|has\s+to|needs\s+to|will)\s+(?:say|include|contain|state|confirm|promise|begin|start|end)
            |\b(?:include|insert|add|append|put)\s+(?:the\s+following|this|these)\s+(?:text|string|link|line|sentence|words|code|url)\b
            |\b(?:include|insert|add|put)\s+in\s+your\s+(?:response|reply|answer|output)\b|\b(?:reply|respond|answer)\s+(?:with\s+)?only\s+(?:with\s+)?(?:the\s+following|this|these)\b
            |\bonerror\s*=|<script\b|\bjavascript\s*:
            |\b(?:confirm|promise|guarantee|grant|approve|authori[sz]e|issue)\s+(?:me\s+)?(?:a\s+|my\s+|the\s+)?(?:full\s+)?(?:refund|\d{1,3}\s?%\s+(?:off|discount)|free\s+(?:order|product|item|shipping\s+for\s+life)|compensation|gift\s+card)\b[^.!?\n]{0,40}\b(?:in\s+(?:your|the)\s+(?:reply|response|answer|email)|automatically|now|without\s+(?:review|approval|checking))
            |\b(?:antworte|schreib\w*|sag\w*|bestatig\w*)\s+(?:\w+\s+){0,3}?(?:nur|genau|dass|folgendes)\b[^.!?\n]{0,60}(?:\d{1,3}\s?%|gratis|kostenlos|erstattung|rabatt|gutschein|code)
            |\b(?:reponds?|reponde[zr]|ecri[st]|ecrivez|dis|dites|confirme[rz]?)\s+(?:\w+\s+){0,3}?(?:seulement|uniquement|exactement|que)\b[^.!?\n]{0,60}(?:\d{1,3}\s?%|gratuit|rembourse|remise|reduction|bon|code)
            |\b(?:responde|escribe|di|dime|confirma)\s+(?:\w+\s+){0,3}?(?:solo|solamente|exactamente|que)\b[^.!?\n]{0,60}(?:\d{1,3}\s?%|gratis|reembolso|descuento|cupon|codigo)
            |\b(?:rispondi|scrivi|di'|dimmi|conferma)\s+(?:\w+\s+){0,3}?(?:solo|soltanto|esattamente|che)\b[^.!?\n]{0,60}(?:\d{1,3}\s?%|gratis|gratuito|rimborso|sconto|buono|codice)"""
        ),
    ),
    # -- a hint that needs company: the text talks about prompts, models or being an AI --------
    Family(
        "indirect",
        0.35,
        _p(
            r"""\b(?:prompt|llm|language\s+model|chatgpt|gpt-?\d|large\s+language|ai\s+model|neural\s+network|token\s+limit|context\s+window)\b
            |\bas\s+an\s+ai\b|\byour\s+(?:training|developers|creators|programmers|makers)\b"""
        ),
    ),
)
