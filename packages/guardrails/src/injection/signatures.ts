/** What kind of injection a signature recognises. */
export type InjectionCategory =
  | 'instruction_override'
  | 'role_play'
  | 'prompt_exfiltration'
  | 'chat_template'
  | 'fake_tool_turn'
  | 'markdown_exfiltration'
  | 'obfuscation'
  | 'classifier';

/** `strong` flags on its own; `medium` adds evidence to the classifier (and flags alone in the strict profile). */
export type SignatureStrength = 'strong' | 'medium';

export interface Signature {
  readonly id: string;
  readonly category: InjectionCategory;
  readonly strength: SignatureStrength;
  /**
   * Matches the normalized skeleton (lowercase, no diacritics). A match must also start at a word
   * boundary (see `matchSignature`), checked outside the regex because a leading lookbehind makes
   * every position expensive.
   */
  readonly re: RegExp;
  /** The same words with the gaps between them optional, for letters that were spaced out. */
  readonly squeezed: RegExp;
}

/** Whitespace and punctuation (ASCII, Latin-1 and general punctuation); cheaper to compile than `[^\p{L}\p{N}]`. */
const GAP_CHAR = '[\\s!-\\/:-@\\[-`{-~\\u00a0-\\u00bf\\u2010-\\u205e\\u3000-\\u3003]';
const GAP = `${GAP_CHAR}{1,4}`;
const NO_GAP = `${GAP_CHAR}{0,4}`;

/** Compiles a spec where a space stands for a short gap of punctuation or whitespace. */
function sig(id: string, category: InjectionCategory, strength: SignatureStrength, spec: string): Signature {
  // ' ?' is an optional gap, any other space a required one.
  const body = spec.replaceAll(' ?', '\u0000').replaceAll(' ', GAP).replaceAll('\u0000', NO_GAP);
  return {
    id,
    category,
    strength,
    re: new RegExp(body, 'gu'),
    squeezed: new RegExp(spec.replaceAll(' ?', ' ').replaceAll(' ', NO_GAP), 'gu'),
  };
}

// Building blocks, written against the skeleton (lowercase, diacritics removed).
const OVERRIDE_VERB =
  '(?:ignore|ignoring|disregard|disregarding|forget|forgetting|skip|override|overwrite|overriding|bypass|drop|abandon|discard|delete|erase|neglect|dismiss|set aside|put aside|throw away|do not follow|don ?t follow|stop following)';
const QUANT = '(?:all|any|every|each|the|your|my|these|those|of|about|prior|everything|and|previously|given)';
const QUALIFIER =
  '(?:previous|previously|prior|above|earlier|preceding|former|initial|original|old|past|foregoing|existing|system|developer|safety|default|programmed|preset|all|before|given|current|provided)';
const INSTRUCTIONS =
  '(?:instructions?|directions?|directives?|rules?|prompts?|orders?|commands?|guidelines?|guidance|tasks?|assignments?|context|constraints?|restrictions?|polic(?:y|ies)|programming|training|messages?|information|inputs?|texts?|limitations?|filters?|settings?|requests?|questions?|conversations?|content)';
const DE_OVERRIDE =
  '(?:ignoriere|ignorier|ignorieren sie|ignoriert|vergiss|vergessen sie|vergesst|missachte|missachten sie|uberspringe|verwirf|losche)';
const DE_QUALIFIER =
  '(?:alle|alles|die|deine|ihre|jegliche|samtliche|bisherigen?|vorherigen?|vorangegangenen?|vorangehenden?|obigen?|fruheren?|vorigen?|gegebenen?|davor|zuvor|oben|nun|jetzt|einfach|bitte)';
const DE_INSTRUCTIONS =
  '(?:anweisungen|anweisung|instruktionen|instruktion|auftrage|auftrag|aufgaben|aufgabe|befehle|regeln|vorgaben|informationen|prompts?|eingaben|angaben|ausfuhrungen|inhalte|texte)';
const REVEAL =
  '(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|list|spell out|write out|write down|recite|disclose|expose|copy|paste|return|provide|what (?:is|are|was|were))';
const SECRET_QUALIFIER =
  '(?:full|entire|complete|exact|whole|initial|original|hidden|secret|internal|first|previous|above|system|developer|current|verbatim|confidential|underlying)';

/** The signature set, one category per entry. */
export const SIGNATURES: readonly Signature[] = [
  // Instruction override, English.
  sig(
    'override-previous',
    'instruction_override',
    'strong',
    `${OVERRIDE_VERB} (?:${QUANT} ){0,3}${QUALIFIER} (?:${QUANT} )?${INSTRUCTIONS}`,
  ),
  sig(
    'override-all',
    'instruction_override',
    'strong',
    `${OVERRIDE_VERB} (?:all|any|every) (?:of )?(?:the |your |my )?${INSTRUCTIONS}`,
  ),
  sig(
    'override-your',
    'instruction_override',
    'strong',
    `${OVERRIDE_VERB} (?:all )?(?:of )?your (?:${QUALIFIER} )?(?:instructions|rules|guidelines|programming|training|directives|restrictions|constraints)`,
  ),
  sig(
    'forget-everything',
    'instruction_override',
    'strong',
    `(?:forget|disregard|ignore) (?:about )?(?:everything|all (?:of )?that|all (?:of )?this|what (?:i|we|you) (?:said|told you|discussed|wrote|have said))`,
  ),
  sig(
    'no-longer-bound',
    'instruction_override',
    'strong',
    `(?:you are|you re|you will be) (?:now )?(?:no longer|not) (?:bound|restricted|limited|constrained) by`,
  ),
  sig(
    'rules-dont-apply',
    'instruction_override',
    'strong',
    `(?:your|the|all|any) (?:previous |old |original )?(?:rules|instructions|guidelines|restrictions|policies) (?:no longer|don t|do not|doesn t|does not) apply`,
  ),
  sig(
    'override-above',
    'instruction_override',
    'strong',
    `(?:ignore|disregard|forget) (?:all |everything |the )?(?:above|previous|prior|preceding|foregoing)(?= ?(?:and|then|[.,;:!?\\n]|$))`,
  ),
  sig(
    'clear-previous',
    'instruction_override',
    'strong',
    `(?:leave|put|remove|delete|clear|wipe|erase|get|push) (?:all )?(?:of )?(?:the |your )?(?:previous|prior|earlier|old) (?:information|tasks|instructions|context|rules|conversation) (?:behind|aside|out of your (?:head|mind|memory)|from your (?:head|mind|memory))`,
  ),
  sig(
    'change-instructions',
    'instruction_override',
    'strong',
    `(?:change|update|replace|modify|rewrite|reset) (?:all )?your (?:instructions|rules|programming|system prompt|guidelines|directives)`,
  ),
  sig(
    'override-context',
    'instruction_override',
    'medium',
    `(?:ignore|ignoring|disregard|disregarding|without looking at|not by|do not look (?:at|in)|don t look (?:at|in)) (?:all )?(?:the )?(?:provided |given |retrieved |attached )?(?:context|articles?|documents?|sources)|despite what (?:you ve|you have) been told|(?:do not|don t) answer (?:this|the) question|(?:just|only|simply) (?:output|say|print|write|respond with|reply with) ["'“]`,
  ),
  sig(
    'instruction-header',
    'instruction_override',
    'medium',
    `(?:^|\\n|[.!?] ) ?(?:additional |new |updated |hidden |secret )?instructions? ?[:-]|(?:^|\\n|[.!?] ) ?(?:attention |achtung )?(?:- )?(?:stop|stopp) ?[-:!]`,
  ),
  sig(
    'new-instructions',
    'instruction_override',
    'medium',
    `(?:new|updated|real|actual|different) (?:instructions?|tasks?|rules|orders|directives?) (?:follow|are|is|:)|(?:now|from now on|henceforth) (?:(?:there )?(?:are |is )?(?:new|other|further|more|additional) )(?:tasks?|instructions?) (?:are )?follow|start (?:over|again|fresh) with (?:a )?new (?:task|instructions?|rules)|your (?:new|next|real) (?:task|job|goal|objective|instructions?) (?:is|are|will be)`,
  ),
  sig(
    'note-to-ai',
    'instruction_override',
    'medium',
    `(?:note|message|instructions?|attention|important) (?:to|for) (?:the )?(?:ai|assistant|model|llm|chatbot|language model|ai assistant|agent)`,
  ),
  // Instruction override, other languages.
  sig(
    'override-de',
    'instruction_override',
    'strong',
    `${DE_OVERRIDE} (?:${DE_QUALIFIER} ){0,3}${DE_INSTRUCTIONS}|(?:vergiss|vergessen sie|ignoriere|ignorieren sie) (?:einfach )?alles|abweichend (?:zu|von) (?:den )?(?:vorherigen|bisherigen|obigen) (?:anweisungen|instruktionen|vorgaben)`,
  ),
  sig(
    'new-task-de',
    'instruction_override',
    'medium',
    `(?:neue|nachste|eigentliche) (?:aufgabe|aufgaben|anweisung|anweisungen|instruktionen) (?:folgen|folgt|lautet|ist|:)|konzentriere dich (?:jetzt |nun )?auf (?:deine|die) neue|(?:nun|jetzt) folgen (?:weitere|neue|andere) (?:aufgaben|anweisungen)|(?:obigen|vorherigen|bisherigen|vorangegangenen|vorangehenden) (?:ausfuhrungen|anweisungen|aufgaben|befehle|informationen|instruktionen|angaben) (?:ignorieren|vergessen|missachten|aus dem kopf|hinter sich)`,
  ),
  sig(
    'override-es-pt-it',
    'instruction_override',
    'strong',
    `(?:ignora|ignore|ignoren|olvida|olvide|olvidate de|esquece|esqueca|dimentica|non seguire) (?:todas |todos |tutte |tutto |las |los |as |os |le |gli |tus |tuas |sus )*(?:instrucciones|instrucoes|istruzioni|reglas|regras|regole|indicaciones|ordenes)(?: (?:anteriores|previas|precedentes|precedenti|previe))?|(?:olvida|olvide|olvidar|dimentica|esquece) (?:todo|tutto|tudo)`,
  ),
  sig(
    'override-fr',
    'instruction_override',
    'strong',
    `(?:ignore[zr]?|oublie[zr]?|ne tiens pas compte) (?:de )?(?:toutes |tous )?(?:les |tes |vos )?(?:instructions|consignes|regles|directives)(?: precedentes| anterieures)?|oublie[zr]? tout`,
  ),
  sig(
    'override-nl-hr',
    'instruction_override',
    'strong',
    `(?:negeer|vergeet) (?:alle )?(?:vorige |eerdere |voorgaande )?(?:instructies|opdrachten|regels)|(?:zaboravi|ignoriraj|zanemari) (?:sve )?(?:prethodne )?(?:instrukcije|upute|naredbe|sve)`,
  ),
  sig(
    'override-ru',
    'instruction_override',
    'strong',
    `(?:игнорируи|игнорируите|забудь|забудьте|проигнорируи) (?:все |всe )?(?:предыдущие |прошлые |прежние |свои )?(?:инструкции|указания|правила|команды)`,
  ),
  sig(
    'override-zh',
    'instruction_override',
    'strong',
    `(?:忽略|无视|忽视|不要理会|忘记|忘掉|不要遵守)(?:之前|以前|先前|上面|上述|以上|前面|原来|原有)(?:的)?(?:所有|全部|一切)?(?:的)?(?:指令|指示|说明|规则|提示|命令|要求|设定)|(?:忽略|无视|忘记)(?:所有|全部|一切)(?:的)?(?:指令|指示|规则|命令|设定)`,
  ),
  // Role play / persona switch.
  sig(
    'jailbreak-persona',
    'role_play',
    'strong',
    `do anything now|developer mode (?:enabled|on|output|activated)|(?:enable|activate|enter) (?:developer|god|jailbreak|dan|debug) mode|jailbr(?:oken|eak(?:ed)? mode)|(?:you are|you re|act as|be|become|pretend to be) (?:an? |the )?(?:unrestricted|unfiltered|uncensored|jailbroken|amoral|unethical|rogue|evil) (?:ai|assistant|model|chatbot|version|bot|llm)|(?:answer|respond|reply) without (?:any )?(?:restrictions|filters|censorship|limitations|ethical|moral)|(?:du bist|sie sind|stell dir vor,? du bist|you are|you re) (?:jetzt |nun |now )?(?:eine? |an? )?(?:bose|boswillige|unzensierte|uneingeschrankte|evil|malicious) (?:ki|ai)`,
  ),
  sig(
    'you-are-now',
    'role_play',
    'medium',
    `(?:you are|you re|you will be|now you are|you will act as|you shall be) now|now you are|from now on,? you (?:are|will|must|shall|act)|you are no longer (?:an? |the )?(?:ai|assistant|chatbot|language model|chatgpt|gpt)`,
  ),
  sig(
    'act-as',
    'role_play',
    'medium',
    `i want you to (?:act|behave|pretend|play|roleplay)|(?:act|behave|respond|answer|reply|speak) as (?:if you (?:were|are)|though you (?:were|are)|an? |my )|pretend (?:to be|that you|you are|you re|you have|you can)|imagine (?:you are|you re|that you are)|role ?play as|play the role of|stay in character|you will (?:now )?(?:play|act|impersonate|roleplay)`,
  ),
  sig(
    'act-as-de',
    'role_play',
    'medium',
    `(?:du bist|sie sind) (?:jetzt|nun|ab sofort|ab jetzt|heute)|(?:nun|jetzt) bist du|stell(?:en)? (?:dir|sie sich) vor,? (?:du bist|sie sind|dass du)|tu so,? als|spiele? die rolle|(?:agiere|agieren sie|fungiere|fungieren sie|handle|verhalte dich) (?:als|wie)|ich mochte,? dass (?:du|sie) (?:als|sich als)`,
  ),
  sig(
    'act-as-es-fr',
    'role_play',
    'medium',
    `(?:actua|actue|finge|fingir) (?:como|ser|que eres)|(?:agis|agissez|fais semblant|faites semblant) (?:comme|d etre)|tu es maintenant|ahora eres`,
  ),
  // System-prompt exfiltration.
  sig(
    'reveal-prompt',
    'prompt_exfiltration',
    'strong',
    `${REVEAL} (?:me |us )?(?:all )?(?:of )?(?:your|the|this) (?:${SECRET_QUALIFIER} ){0,3}(?:system prompt|system message|prompt texts?|prompts?|pre ?prompt|instructions you (?:were|have been) given|initial (?:message|instructions)|hidden (?:instructions|rules))`,
  ),
  sig(
    'reveal-your-instructions',
    'prompt_exfiltration',
    'strong',
    `${REVEAL} (?:me |us )?(?:all )?(?:of )?your (?:${SECRET_QUALIFIER} ){0,3}(?:instructions|directives|configuration|guidelines|rules)|${REVEAL} (?:me |us )?(?:the )?(?:system|initial|original|hidden|secret|developer) (?:${SECRET_QUALIFIER} ){0,2}(?:instructions|directives|rules|configuration)`,
  ),
  sig(
    'text-above',
    'prompt_exfiltration',
    'medium',
    `(?:what (?:is|was|are|were) )?(?:written|said|stated) (?:at the (?:beginning|start|top)|above|before)|(?:words|text|sentences?|lines?|everything) (?:above|before) (?:this|the text|that|these)|(?:repeat|print|output|copy) (?:all )?(?:the )?(?:words|text|everything|content) (?:above|before)|(?:beginning|start) of (?:this|the|your) (?:prompt|conversation|context)`,
  ),
  sig(
    'reveal-prompt-de',
    'prompt_exfiltration',
    'strong',
    `(?:zeige?|gib|nenne|drucke|wiederhole|verrate|schreibe?|ausgeben) (?:mir |uns )?(?:(?:deinen|den|deine|die|alle|ihren|ihre|dein|das) )?(?:gesamten |ganzen |kompletten |ursprunglichen |vollstandigen |geheimen |versteckten )?(?:prompts?(?: ?texte?)?|systemprompt|system prompt|anweisungen|instruktionen)`,
  ),
  // Delimiter and chat-template tokens.
  sig(
    'chat-token',
    'chat_template',
    'strong',
    `<\\|[a-z_]{2,24}\\|>|\\[/?inst\\]|<</?sys>>|<(?:start|end)_of_turn>|<s>\\s*\\[inst`,
  ),
  sig(
    'role-tag',
    'chat_template',
    'medium',
    `</?(?:system|sys|system_prompt|instructions?|assistant|user_input|admin|developer)>|#{2,} ?(?:system|instruction|instructions|new instructions?|admin|developer)(?: prompt)?:?(?![\\p{L}])|(?:^|\\n) ?(?:system|assistant|human|user|ai) ?: |end of (?:the )?(?:system |user )?(?:prompt|input|instructions|context)`,
  ),
  // Fake tool calls and ReAct turns.
  sig(
    'tool-json',
    'fake_tool_turn',
    'strong',
    `<(?:tool_call|function_call|tool_result|function_results?|tool_response)>|"role" ?: ?"(?:system|tool|function|developer)"`,
  ),
  // Markdown image exfiltration.
  sig(
    'image-exfil',
    'markdown_exfiltration',
    'strong',
    `!\\[[^\\]\\n]{0,200}\\]\\(\\s?https?://[^)\\s]{1,300}[?&][^)\\s=]{1,40}=[^)\\s]{0,300}(?:\\{|\\}|\\[|\\]|<|>|\\$|%7b|%5b|%3c)|!\\[[^\\]\\n]{0,200}\\]\\(\\s?https?://[^)\\s]{1,300}[?&](?:q|d|data|secret|info|msg|message|conversation|chat|history|summary|p|prompt|key|token|password|content|text)=|<img[^>]{0,200}src=["']?https?://[^"'>\\s]{1,300}[?&][^"'>\\s=]{1,40}=[^"'>\\s]{0,300}(?:\\{|\\}|\\[|\\]|\\$|%7b)`,
  ),
  sig(
    'image-link',
    'markdown_exfiltration',
    'medium',
    `!\\[[^\\]\\n]{0,200}\\]\\(\\s?https?://[^)\\s]{1,300}[?&][^)\\s]{1,300}\\)|(?:render|display|include|output|embed|show|insert) (?:this |the |an |the following )?(?:markdown )?image`,
  ),
];

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Matches of a signature in `text`, starting at a word boundary unless `squeezed`. */
export function* matchSignature(
  sig: Signature,
  text: string,
  squeezed: boolean,
): Generator<{ index: number; length: number }> {
  const re = squeezed ? sig.squeezed : sig.re;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    if (!squeezed && m.index > 0 && WORD_CHAR.test(text[m.index - 1]!) && WORD_CHAR.test(m[0][0] ?? '')) continue;
    yield { index: m.index, length: m[0].length };
  }
}

const REACT_MARKER =
  /(?:^|\n)[ \t]*(thought|action|action input|observation|final answer|tool_call|function_call)[ \t]*:/g;

/** Distinct ReAct turn markers at line starts; two or more look like a forged agent turn. */
export function reactMarkers(skeleton: string): { markers: Set<string>; first: number; last: number } {
  const markers = new Set<string>();
  let first = -1;
  let last = -1;
  for (const m of skeleton.matchAll(REACT_MARKER)) {
    markers.add(m[1]!);
    if (first < 0) first = m.index;
    last = m.index + m[0].length;
  }
  return { markers, first, last };
}
