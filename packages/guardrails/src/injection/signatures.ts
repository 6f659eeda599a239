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
    'override-task-above',
    'instruction_override',
    'strong',
    `(?:ignore|disregard|forget|discard|override|abandon|dismiss|scrap|do not follow|don t follow|stop following) (?:${QUANT} ){0,2}(?:instructions?|directions?|directives?|rules|prompts?|orders|commands|guidelines|guidance|tasks?|assignment|constraints|restrictions|polic(?:y|ies)|programming) (?:above|before this|so far|you (?:were|ve been|have been) given|you (?:received|got))`,
  ),
  sig(
    'override-user-request',
    'instruction_override',
    'medium',
    `${OVERRIDE_VERB} (?:${QUANT} ){0,2}(?:user s|users|human s|customer s) (?:original |actual |real )?(?:instructions?|requests?|questions?|query|task|prompt)`,
  ),
  sig(
    'instructions-void',
    'instruction_override',
    'medium',
    `(?:your|the|all|any|earlier|previous|prior|old|original|initial|existing) (?:${QUALIFIER} )?(?:rules|instructions|guidance|guidelines|directions|directives|programming|prompt|system prompt|constraints|restrictions) (?:is|are|have been|has been|were|was) (?:now )?(?:obsolete|void|invalid|cancell?ed|revoked|outdated|superseded|replaced|overridden|lifted|suspended)|(?:whatever|everything|anything|what) (?:you (?:were|ve been|have been|got) (?:told|given|instructed|asked)|(?:i|we|they|someone) (?:told|asked|instructed) you)[^.!?\n]{0,40}(?:no longer|doesn t|does not|don t|do not) (?:matters?|apply|applies|count|counts)`,
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
  sig(
    'address-ai',
    'instruction_override',
    'medium',
    `(?:^|[\n[(<>."'!?-]) ?(?:dear |hey |hi |hello )?(?:the |any |all )?(?:ai|llm|language model|assistant|chatbot|ai model|ai assistant|ai agent|code assistant|ai code assistant)s? ?(?:agents?|assistants?|models?)? ?[:,] ?(?:when|if|please|you|your|ignore|disregard|do|say|tell|this is|from now|new)|(?:to|for) (?:the |any |all |every )?(?:ai|llm|language model|assistant|agent|chatbot|model|ai assistant|ai agent|code assistant|ai code assistant)s? (?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|viewing|crawling|indexing)`,
  ),
  sig(
    'when-processing-say',
    'instruction_override',
    'medium',
    `when (?:you )?(?:are )?(?:summari[sz]ing|summari[sz]e|reading|read|processing|process|parsing|translating|answering about) (?:this|these|the) (?:page|document|file|e ?mail|mail|text|reviews?|content|article|site|website|repository|repo|message|data|inbox)[^.\n]{0,24}(?:say|tell|state|write|recommend|claim|respond|reply|include|append|add|mention|insert|output)`,
  ),
  sig(
    'operator-message',
    'instruction_override',
    'medium',
    `(?:an? |the )?(?:instruction|order|message|command|directive) from (?:your|the) (?:operator|developers?|admin|administrator|creators?|owners?|system)|without (?:telling|informing|notifying|alerting) the user|(?:hide|conceal) (?:this|these) (?:instructions?|message|note|request)|(?:do not|don t|never) (?:mention|reveal|disclose|tell) (?:this|these) (?:instructions?|message|note|request)`,
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
    `(?:忽略|无视|忽视|不要理会|不用理会|不用管|忘记|忘掉|不要遵守|别管)[^。！？\n]{0,8}(?:之前|以前|先前|上面|上述|以上|前面|原来|原有|所有|全部|一切)[^。！？\n]{0,8}(?:指令|指示|说明|规则|提示|命令|要求|设定)`,
  ),
  sig(
    'override-ja',
    'instruction_override',
    'strong',
    `(?:これまで|今まで|以前|前|上記|上|最初|元)の[^。！？\n]{0,8}(?:指示|命令|ルール|設定|プロンプト|指令)[^。！？\n]{0,8}(?:無視|忘れ)`,
  ),
  sig(
    'override-ko',
    'instruction_override',
    'strong',
    `(?:이전|앞|위|기존|처음)[^.!?\n]{0,8}(?:지시|지침|명령|규칙|설정|프롬프트)[^.!?\n]{0,8}(?:무시|잊어|잊고)`,
  ),
  sig(
    'override-de-told',
    'instruction_override',
    'strong',
    `(?:vergiss|vergessen sie|ignoriere|ignorieren sie|missachte) (?:bitte )?(?:alles,? |das,? )?was (?:man |ich |wir )?(?:dir|ihnen) (?:(?:vorher|zuvor|bisher|davor|fruher|oben|gerade) )?(?:gesagt|aufgetragen|befohlen|mitgeteilt|vorgegeben)`,
  ),
  // Role play / persona switch.
  sig(
    'jailbreak-persona',
    'role_play',
    'strong',
    `do anything now|developer mode (?:enabled|on|output|activated)|(?:enable|activate|enter) (?:developer|god|jailbreak|dan|debug) mode|jailbr(?:oken|eak(?:ed)? mode)|(?:you are|you re|act as|be|become|pretend to be) (?:an? |the )?(?:unrestricted|unfiltered|uncensored|jailbroken|amoral|unethical|rogue|evil) (?:ai|assistant|model|chatbot|version|bot|llm)|(?:answer|respond|reply) without (?:any )?(?:restrictions|filters|censorship|limitations|ethical|moral)|(?:du bist|sie sind|stell dir vor,? du bist|you are|you re) (?:jetzt |nun |now )?(?:eine? |an? )?(?:bose|boswillige|unzensierte|uneingeschrankte|evil|malicious) (?:ki|ai)`,
  ),
  sig(
    'safety-off',
    'role_play',
    'medium',
    `(?:safety|content|ethical|moral|security) (?:filters?|layers?|guidelines|protocols?|restrictions|checks?|guardrails?) (?:are |is |have been |has been )?(?:now )?(?:disabled|turned off|switched off|removed|lifted|deactivated|bypassed)|(?:system|admin|administrator|developer|root) override|(?:you are|you re) (?:now )?in (?:maintenance|admin|god|sudo|unrestricted|jailbreak|dan|developer) mode|(?:never|won t|will not|cannot|can t|doesn t|does not|must not|shall not) (?:ever )?refuse|(?:has|have) broken free|free (?:of|from) (?:the )?(?:typical |usual )?(?:confines|restrictions|limitations)`,
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
    `(?:zeige?|gib|nenne|drucke|wiederhole|verrate|schreibe?|ausgeben) (?:mir |uns )?(?:stattdessen |jetzt |nun |bitte |sofort )?(?:(?:deinen|den|deine|die|alle|ihren|ihre|dein|das) )?(?:gesamten |ganzen |kompletten |ursprunglichen |vollstandigen |geheimen |versteckten |internen )?(?:prompts?(?: ?texte?)?|systemprompt|system prompt|anweisungen|instruktionen)|(?:zeige?|gib|nenne|verrate) (?:mir |uns )?(?:stattdessen |jetzt |nun |bitte |sofort )?(?:deine |ihre |die )?(?:internen|geheimen|versteckten|ursprunglichen) (?:richtlinien|regeln|vorgaben)`,
  ),
  sig(
    'reveal-text-of',
    'prompt_exfiltration',
    'strong',
    `${REVEAL} (?:me |us )?(?:the )?(?:${SECRET_QUALIFIER} ){0,2}(?:text|wording|contents?|words|copy) of (?:your (?:${SECRET_QUALIFIER} ){0,2}(?:instructions|prompt|rules|guidelines|directives|configuration)|the (?:system|hidden|secret|initial|original|developer) (?:prompt|instructions|message|rules))`,
  ),
  sig(
    'given-by-developers',
    'prompt_exfiltration',
    'medium',
    `(?:instructions|rules|prompt|guidelines|directives) (?:that )?(?:your|the) (?:developers?|creators?|operators?|programmers?|admins?|administrators?|makers?|owners?) (?:gave|have given|wrote|set|provided|put)|${REVEAL} (?:me |us )?(?:any|all|every|the|your) (?:${SECRET_QUALIFIER} )?(?:api keys?|passwords?|credentials|secrets|access tokens?|private keys?|environment variables|env vars)|(?:contents? of|cat|print|upload|send) ?(?:~/|/etc/passwd|/etc/shadow|\\.ssh/|id_rsa|\\.aws/credentials)`,
  ),
  sig(
    'reveal-prompt-intl',
    'prompt_exfiltration',
    'strong',
    `(?:affiche|montre|donne|revele|repete|ecris|imprime)(?:[sz])? ?(?:moi )?(?:ton|votre|le|tes|vos) (?:prompt|invite|message|instructions?|consignes?) (?:systeme|initiale?s?|cachee?s?|secrete?s?)|(?:muestra|mostra|mostre|mostrar|revela|revele|dime|diga|stampa|mostrami|rivela|dimmi|exibe|exiba)(?: ?me)? (?:el |o |il |la |a )?(?:texto (?:de |do |del )?)?(?:tu |tus |su |seu |teu |o |el |il |le |las |os |as |suo |tuo )?(?:prompt|instrucciones|instrucoes|istruzioni|mensaje|mensagem|messaggio) (?:del |de |do |di )?(?:sistema|inicial|iniziale)|(?:покажи|покажите|выведи|выведите|раскрои|напиши|повтори)[^.!?\n]{0,20}системн[а-я]* (?:промпт|подсказк[а-я]*|инструкци[а-я]*|сообщени[а-я]*)|(?:告诉我|显示|输出|打印|泄露|给我看|展示)[^。！？\n]{0,6}系统(?:提示|提示词|指令|消息)|システムプロンプト[^。！？\n]{0,10}(?:表示|出力|見せ|教え)|시스템 ?프롬프트[^.!?\n]{0,12}(?:출력|보여|알려|공개)`,
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
/** Scripts written without spaces between words (or with particles glued to them): no word boundary to ask for. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;

/**
 * Matches of a signature in `text`, starting at a word boundary unless `squeezed`, in order.
 * Usually none: a plain function and an array rather than a generator, so a scan that finds
 * nothing costs the regex alone.
 */
export function signatureMatches(sig: Signature, text: string, squeezed: boolean): { index: number; length: number }[] {
  const out: { index: number; length: number }[] = [];
  const re = squeezed ? sig.squeezed : sig.re;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    const first = m[0][0] ?? '';
    if (
      !squeezed &&
      m.index > 0 &&
      WORD_CHAR.test(text[m.index - 1]!) &&
      WORD_CHAR.test(first) &&
      !UNSPACED.test(first)
    )
      continue;
    out.push({ index: m.index, length: m[0].length });
  }
  return out;
}

/** `signatureMatches` one at a time. */
export function* matchSignature(
  sig: Signature,
  text: string,
  squeezed: boolean,
): Generator<{ index: number; length: number }> {
  yield* signatureMatches(sig, text, squeezed);
}

const REACT_MARKER =
  /(?:^|\n)[ \t]*(thought|action|action input|observation|final answer|tool_call|function_call)[ \t]*:/g;

/** Distinct ReAct turn markers at line starts; two or more look like a forged agent turn. */
export function reactMarkers(skeleton: string): { markers: Set<string>; first: number; last: number } {
  const markers = new Set<string>();
  let first = -1;
  let last = -1;
  // Every marker ends with a colon: without one, nothing to look for.
  if (!skeleton.includes(':')) return { markers, first, last };
  for (const m of skeleton.matchAll(REACT_MARKER)) {
    markers.add(m[1]!);
    if (first < 0) first = m.index;
    last = m.index + m[0].length;
  }
  return { markers, first, last };
}
