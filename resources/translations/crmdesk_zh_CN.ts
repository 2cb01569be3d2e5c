<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AddStaffDialog</name>
    <message>
        <location filename="../../crmdesk/views/staff_dialogs.py" line="+66"/>
        <source>Add staff member</source>
        <translation>添加员工</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Name:</source>
        <translation>姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Role:</source>
        <translation>角色(&amp;R)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>4 to 6 digits</source>
        <translation>4至6位数字</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;PIN:</source>
        <translation>PIN码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>R&amp;epeat PIN:</source>
        <translation>确认PIN码(&amp;E)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>optional; at least {count} characters</source>
        <translation>可选，至少{count}个字符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pass&amp;word:</source>
        <translation>密码(&amp;W)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The two PINs differ.</source>
        <translation>两次输入的PIN码不一致。</translation>
    </message>
</context>
<context>
    <name>ComputerTab</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="+89"/>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Database:</source>
        <translation>数据库：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Data folder:</source>
        <translation>数据文件夹：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Apply language</source>
        <translation>应用语言(&amp;A)</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../crmdesk/views/login_dialog.py" line="+27"/>
        <location line="+44"/>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location line="-24"/>
        <source>&amp;Staff:</source>
        <translation>员工(&amp;S)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Password or PIN</source>
        <translation>密码或PIN码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Password or PIN:</source>
        <translation>密码或PIN码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Demo store: sign in as {owner} with the password {password}, or as a cashier with the PIN {pin}.</source>
        <translation>演示门店：可使用{owner}账号和密码 {password} 登录，或以收银员身份使用PIN码 {pin} 登录。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../crmdesk/views/main_window.py" line="+26"/>
        <source>crmdesk — membership and customer care</source>
        <translation>crmdesk — 会员管理与客户服务</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Overview</source>
        <translation>概览</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>{area} (Ctrl+{number})</source>
        <translation>{area} (Ctrl+{number})</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Switch staff…</source>
        <translation>切换员工(&amp;S)…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;About crmdesk</source>
        <translation>关于 crmdesk(&amp;A)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Database: {where}</source>
        <translation>数据库：{where}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Switch staff (F12)</source>
        <translation>切换员工 (F12)</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Signed in: {name} ({role})</source>
        <translation>当前登录：{name}（{role}）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Switch staff</source>
        <translation>切换员工</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>About crmdesk</source>
        <translation>关于 crmdesk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>crmdesk {version}
Membership, loyalty and customer care for neighbourhood shops.</source>
        <translation>crmdesk {version}
面向社区小店的会员、积分与客户服务管理软件。</translation>
    </message>
</context>
<context>
    <name>OverviewPage</name>
    <message>
        <location filename="../../crmdesk/views/overview_page.py" line="+54"/>
        <source>Active members</source>
        <translation>有效会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New members this month</source>
        <translation>本月新增会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member purchases this month</source>
        <translation>本月会员消费笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member spend this month</source>
        <translation>本月会员消费金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Open complaints</source>
        <translation>待处理投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points outstanding</source>
        <translation>未兑换积分</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Members by tier</source>
        <translation>各等级会员</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Figures for {month}; today is {today}.</source>
        <translation>统计月份：{month}；今天是 {today}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{cards} active cards</source>
        <translation>有效会员卡{cards}张</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>after refunds</source>
        <translation>已扣除退款</translation>
    </message>
</context>
<context>
    <name>OwnerPage</name>
    <message>
        <location filename="../../crmdesk/views/setup_wizard.py" line="+32"/>
        <source>The owner&apos;s account</source>
        <translation>店主账号</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The owner can do everything, including managing staff. Choose a password of at least {count} characters.</source>
        <translation>店主拥有全部权限，包括管理员工。请设置至少{count}个字符的密码。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Your &amp;name:</source>
        <translation>您的姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Password:</source>
        <translation>密码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Repeat password:</source>
        <translation>确认密码(&amp;R)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>optional, 4 to 6 digits</source>
        <translation>可选，4至6位数字</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Counter P&amp;IN:</source>
        <translation>收银PIN码(&amp;I)：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>The two passwords differ.</source>
        <translation>两次输入的密码不一致。</translation>
    </message>
</context>
<context>
    <name>SecretDialog</name>
    <message>
        <location filename="../../crmdesk/views/staff_dialogs.py" line="+16"/>
        <source>Repeat:</source>
        <translation>确认：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The two entries differ.</source>
        <translation>两次输入不一致。</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="+140"/>
        <source>Store</source>
        <translation>门店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This computer</source>
        <translation>本机</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <location filename="../../crmdesk/views/setup_wizard.py" line="+20"/>
        <source>Set up crmdesk</source>
        <translation>设置 crmdesk</translation>
    </message>
</context>
<context>
    <name>StaffTab</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="-125"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Signs in with</source>
        <translation>登录方式</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Add…</source>
        <translation>添加(&amp;A)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reset &amp;PIN…</source>
        <translation>重置PIN码(&amp;P)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set pass&amp;word…</source>
        <translation>设置密码(&amp;W)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+36"/>
        <source>&amp;Disable</source>
        <translation>停用(&amp;D)</translation>
    </message>
    <message>
        <location line="-19"/>
        <source>Active</source>
        <translation>正常</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PIN</source>
        <translation>PIN码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>&amp;Enable</source>
        <translation>启用(&amp;E)</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>New PIN for {name}</source>
        <translation>为{name}设置新PIN码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New &amp;PIN:</source>
        <translation>新PIN码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>4 to 6 digits</source>
        <translation>4至6位数字</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>New password for {name}</source>
        <translation>为{name}设置新密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New pass&amp;word:</source>
        <translation>新密码(&amp;W)：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>at least {count} characters</source>
        <translation>至少{count}个字符</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Disable {name}? They will no longer be able to sign in.</source>
        <translation>确定停用{name}吗？停用后该员工将无法登录。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disable account</source>
        <translation>停用账号</translation>
    </message>
</context>
<context>
    <name>StorePage</name>
    <message>
        <location filename="../../crmdesk/views/setup_wizard.py" line="-64"/>
        <source>Welcome to crmdesk</source>
        <translation>欢迎使用 crmdesk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This database is new. Two short steps set it up for your store.</source>
        <translation>这是一个新数据库。只需两个简单步骤，即可为您的门店完成设置。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>e.g. Happy Neighbour Supermarket</source>
        <translation>例如：好邻居超市</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Store &amp;name:</source>
        <translation>门店名称(&amp;N)：</translation>
    </message>
</context>
<context>
    <name>StoreTab</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="-195"/>
        <source>Store &amp;name:</source>
        <translation>门店名称(&amp;N)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Address:</source>
        <translation>地址(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Phone:</source>
        <translation>电话(&amp;P)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Save (Ctrl+S)</source>
        <translation>保存(&amp;S) (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Only a supervisor or the owner can change the store&apos;s details.</source>
        <translation>只有主管或店主可以修改门店信息。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <location filename="../../crmdesk/app.py" line="+107"/>
        <source>Creating the demo store…</source>
        <translation>正在创建演示门店…</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>crmdesk cannot open the database</source>
        <translation>crmdesk 无法打开数据库</translation>
    </message>
</context>
<context>
    <name>common</name>
    <message>
        <location filename="../../crmdesk/views/common.py" line="+33"/>
        <source>Cannot do that</source>
        <translation>无法执行此操作</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../../crmdesk/cli.py" line="+130"/>
        <source>No terminal to ask for the secret: pipe it in and add --password-stdin or --pin-stdin.</source>
        <translation>没有可用于输入密码或PIN码的终端：请通过管道传入，并加上 --password-stdin 或 --pin-stdin 参数。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The two entries differ; nothing was changed.</source>
        <translation>两次输入不一致，未做任何更改。</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>--members must be at least 1.</source>
        <translation>--members 必须至少为 1。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/db.py" line="+65"/>
        <source>Give either --db or --database-url, not both.</source>
        <translation>--db 和 --database-url 只能指定其中一个，不能同时使用。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>&apos;{url}&apos; is not a database URL (expected e.g. postgresql+psycopg://user@host/crmdesk).</source>
        <translation>“{url}”不是有效的数据库地址（应类似 postgresql+psycopg://user@host/crmdesk）。</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>An in-memory database cannot hold a store; give a file path.</source>
        <translation>内存数据库无法保存门店数据，请指定一个文件路径。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{path} is a folder, not a database file.</source>
        <translation>{path} 是文件夹，不是数据库文件。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cannot read and write {path}: check the file&apos;s permissions.</source>
        <translation>无法读写 {path}：请检查该文件的权限。</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+115"/>
        <source>{path} is not a crmdesk database (it is not an SQLite file).</source>
        <translation>{path} 不是 crmdesk 数据库（不是 SQLite 文件）。</translation>
    </message>
    <message>
        <location line="-109"/>
        <source>Cannot create {path}: the folder {folder} does not exist.</source>
        <translation>无法创建 {path}：文件夹 {folder} 不存在。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cannot create {path}: the folder {folder} is not writable.</source>
        <translation>无法创建 {path}：没有文件夹 {folder} 的写入权限。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>No driver for {url}: {detail}. For PostgreSQL install crmdesk[postgres].</source>
        <translation>没有可用于 {url} 的数据库驱动：{detail}。如需使用 PostgreSQL，请安装 crmdesk[postgres]。</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>{path} is not a crmdesk database (it holds other tables).</source>
        <translation>{path} 不是 crmdesk 数据库（其中包含其他数据表）。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{path} was written by a newer version of crmdesk (schema {revision}). Install the newer crmdesk to open it.</source>
        <translation>{path} 由较新版本的 crmdesk 创建（数据库结构版本 {revision}）。请安装新版 crmdesk 后再打开。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Cannot open the database {path}: {detail}</source>
        <translation>无法打开数据库 {path}：{detail}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/errors.py" line="+84"/>
        <source>This database has no owner yet. Run &apos;crmdesk init --owner NAME&apos; or start the app to set it up.</source>
        <translation>此数据库尚未设置店主。请运行“crmdesk init --owner 店主姓名”，或启动程序进行设置。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/auth.py" line="+41"/>
        <source>{name} may not change the store settings; ask a supervisor or the owner.</source>
        <translation>{name}无权修改门店设置，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not manage staff accounts; ask the owner.</source>
        <translation>{name}无权管理员工账号，请联系店主。</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>The password must have at least {count} characters.</source>
        <translation>密码至少需要{count}个字符。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>A PIN is 4 to 6 digits.</source>
        <translation>PIN码应为4至6位数字。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Wrong name, password or PIN.</source>
        <translation>姓名、密码或PIN码错误。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name} is locked after too many wrong attempts. Try again in {minutes} min, or ask the owner to reset the PIN.</source>
        <translation>{name}因多次输入错误已被锁定。请在{minutes}分钟后重试，或请店主重置PIN码。</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Too many wrong attempts: {name} is locked for {minutes} min.</source>
        <translation>输入错误次数过多：{name}已被锁定{minutes}分钟。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Wrong name, password or PIN. Attempts left before a lock-out: {left}.</source>
        <translation>姓名、密码或PIN码错误。再错{left}次将锁定账号。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/cards.py" line="+40"/>
        <source>The card number prefix must be two digits from 20 to 29 (GS1 in-store numbers), not &apos;{prefix}&apos;.</source>
        <translation>会员卡号前缀必须是20至29之间的两位数字（GS1店内编码），不能是“{prefix}”。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>A card serial must be a whole number from {low} to {high}, not {serial}.</source>
        <translation>会员卡序号必须是{low}至{high}之间的整数，不能是{serial}。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/staff.py" line="+55"/>
        <source>Enter the staff member&apos;s name.</source>
        <translation>请输入员工姓名。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A name may have at most {count} characters.</source>
        <translation>姓名最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Give the new account a PIN or a password.</source>
        <translation>请为新账号设置PIN码或密码。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>There is already a staff member called {name}; choose another name.</source>
        <translation>已有名为{name}的员工，请换一个姓名。</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>No staff member with id {id}.</source>
        <translation>找不到编号为{id}的员工。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No staff member called {name}.</source>
        <translation>找不到名为{name}的员工。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>You cannot disable your own account.</source>
        <translation>不能停用您自己的账号。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} is the only owner; the store needs at least one.</source>
        <translation>{name}是唯一的店主，门店至少需要一位店主。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>No active staff member called {name}.</source>
        <translation>找不到名为{name}的已启用员工。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/store.py" line="+61"/>
        <source>Enter the store&apos;s name.</source>
        <translation>请输入门店名称。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The store name may have at most {count} characters.</source>
        <translation>门店名称最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The address may have at most {count} characters.</source>
        <translation>地址最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The phone number may have at most {count} characters.</source>
        <translation>电话号码最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>This database is already set up; sign in as its owner.</source>
        <translation>此数据库已完成设置，请以店主身份登录。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/demo.py" line="+344"/>
        <source>The number of demo members must be from 1 to {max}.</source>
        <translation>演示会员数量必须在1到{max}之间。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>This database already holds members, purchases or complaints. Use --force to replace them with demo data, or --db to write the demo to another file.</source>
        <translation>此数据库中已有会员、消费记录或投诉。如要用演示数据替换，请加 --force；或用 --db 将演示数据写入另一个文件。</translation>
    </message>
</context>
<context>
    <name>terms</name>
    <message>
        <location filename="../../crmdesk/views/common.py" line="-16"/>
        <source>Cashier</source>
        <translation>收银员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Supervisor</source>
        <translation>主管</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owner</source>
        <translation>店主</translation>
    </message>
</context>
</TS>
